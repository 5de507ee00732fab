"""The organisation map and disclosure control shared by every aggregate route."""

from shared.disclosure import disclose, protect_measure, round_to
from shared.organisations import organisations, practices_in_icb


def test_practice_pcn_icb_from_the_nhs_digital_mapping() -> None:
    densham = organisations()["A81001"]
    assert (densham.pcn_ods, densham.icb_ods) == ("U89141", "QHM")
    qhm = practices_in_icb("qhm")
    assert densham in qhm and all(o.icb_ods == "QHM" for o in qhm)
    assert [o.practice_ods for o in qhm] == sorted(o.practice_ods for o in qhm)
    assert practices_in_icb("ZZZ") == ()


def test_small_counts_withheld_and_the_rest_rounded_half_up() -> None:
    assert [disclose(n) for n in (0, 7, 8, 12, 13, 17, 18)] == [None, None, 10, 10, 15, 15, 20]
    assert round_to(12.5) == 15 and round_to(22.5, 10) == 20
    assert protect_measure(7, 120.0) is None and protect_measure(8, 123.0) == 125
