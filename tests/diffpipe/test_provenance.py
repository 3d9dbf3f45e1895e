from diffpipe import provenance


def test_provenance_has_the_documented_fields():
    record = provenance.Provenance.record({"a": 1}, "cpu", 0.25).to_dict()
    assert set(record) == {"config_hash", "code_version", "packages", "device", "device_warning", "host", "elapsed_s"}
    assert record["config_hash"] == provenance.config_hash({"a": 1}) != provenance.config_hash({"a": 2})
    assert record["packages"]["jax"] != "not installed"
    assert provenance.Provenance.from_dict(record).to_dict() == record


def test_cpu_info_names_the_vector_instruction_sets():
    info = provenance.cpu_info()
    assert info["cores"] >= 1 and info["model"]
    assert set(info["vector"]) <= set(provenance.VECTOR_FLAGS)
