import pytest

from ipics_lab.package_data import sample_licenses_dir
from ipics_server.core.licenses import Feature, LicenseError, check_install, designation, parse_license
from ipics_server.core.roles import ServerDesignation

B, PE, HA = Feature.IPICS_BASE_SERVER, Feature.POLICY_ENGINE_BASE, Feature.HIGH_AVAILABILITY


@pytest.mark.parametrize(
    "installed, expected",
    [
        ({B, PE}, ServerDesignation.PRIMARY),
        ({HA}, ServerDesignation.SECONDARY),
        ({B}, None),
        ({PE}, None),
        (set(), None),
    ],
)
def test_designation(installed, expected):
    assert designation(installed) == expected


@pytest.mark.parametrize(
    "installed, new, refused",
    [
        ({B, PE}, HA, "must not be installed on a server that has the IPICS Base server"),
        ({B}, HA, "install it only on the secondary server"),
        ({HA}, B, "this server is a secondary server"),
        ({HA}, PE, "this server is a secondary server"),
        ({B}, PE, None),
        (set(), HA, None),
    ],
)
def test_check_install(installed, new, refused):
    if refused:
        with pytest.raises(LicenseError, match=refused):
            check_install(installed, new)
    else:
        check_install(installed, new)


@pytest.mark.parametrize("name, feature", [("base.lic", B), ("policy.lic", PE), ("ha.lic", HA)])
def test_sample_licenses_parse(name, feature):
    assert parse_license((sample_licenses_dir() / name).read_bytes()).feature == feature


@pytest.mark.parametrize(
    "data, message",
    [
        (b"FEATURE=TELEPORT\nSERIAL=1", "unknown license feature"),
        (b"SERIAL=1", "names no FEATURE"),
        (b"FEATURE=HIGH_AVAILABILITY", "SERIAL"),
        (b"garbage", "line 1"),
        (b"\xff\xfe", "not UTF-8"),
        (b"#" * 5000, "larger than"),
    ],
)
def test_bad_license_files(data, message):
    with pytest.raises(LicenseError, match=message):
        parse_license(data)
