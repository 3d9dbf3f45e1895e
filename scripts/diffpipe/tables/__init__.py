"""Tables for papers and talks: LaTeX and Markdown from the artifacts (tabulate), PDG-rounded."""
