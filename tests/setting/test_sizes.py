"""Class sizes as data: parsing, grouping and the one-line errors."""

import pytest

from ssem_symbolic.setting._sizes import MAX_CLASSES, ClassSizes


def test_parse_lists_and_count_times_size_forms():
    assert ClassSizes.parse("5,3,2").sizes == (5, 3, 2)
    assert ClassSizes.parse("1x20, 9x4").sizes == (20,) + (4,) * 9
    assert ClassSizes.parse("2x3,7").sizes == (3, 3, 7)


def test_groups_are_by_decreasing_size_with_members_in_the_users_order():
    s = ClassSizes((2, 5, 2, 3))
    assert s.groups == ((5, 1), (3, 1), (2, 2))
    assert s.group_of == (2, 0, 2, 1)
    assert s.members(2) == (0, 2)
    assert s.instances == 12 and s.classes == 4 and not s.balanced
    assert ClassSizes((4, 4)).balanced


def test_a_long_tailed_batch_of_100_classes_is_two_groups():
    s = ClassSizes.parse("10x10,90x2")
    assert s.classes == 100 and s.groups == ((10, 10), (2, 90))


@pytest.mark.parametrize("text, words", [
    ("", "empty"), ("5,,2", "not a size"), ("5,2.5", "not a size"), ("5,-1", "not a size"),
    ("0x3,2", "count below 1"), ("7", "at least two classes"),
    (f"{MAX_CLASSES + 1}x2", "at most"), ("3,0", ">= 1"), ("a,b", "not a size"),
])
def test_bad_sizes_are_one_line_errors(text, words):
    with pytest.raises(ValueError, match=words) as err:
        ClassSizes.parse(text)
    assert "\n" not in str(err.value)


def test_non_integers_in_a_list_are_refused():
    with pytest.raises(ValueError, match="integers"):
        ClassSizes((3, 2.0))
    with pytest.raises(ValueError, match="integers"):
        ClassSizes((3, True))
