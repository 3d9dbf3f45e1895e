"""The HEPData record of a run: its results as a HEPData submission (hepdata_lib), validated."""
