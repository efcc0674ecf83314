"""stackctl.gc_policy: which location images the garbage collector removes."""

from stackctl.gc_policy import ImageInfo, images_to_remove


def _image(location: str, version: str) -> ImageInfo:
    return ImageInfo(tag=f"STACK/{location}:{version}", location=location, version=version)


def _removed(images: list[ImageInfo], history: dict[str, list[str]], serving: set[str] = set(),
             in_use: set[str] = set(), keep: int = 2) -> set[str]:
    return {i.tag for i in images_to_remove(images, history, serving, in_use, keep)}


def test_keeps_the_last_versions_of_history_and_removes_older_ones() -> None:
    images = [_image("a", v) for v in ("v1", "v2", "v3", "v4")]
    assert _removed(images, {"a": ["v1", "v2", "v3", "v4"]}, keep=2) == {"STACK/a:v1", "STACK/a:v2"}


def test_keep_larger_than_history_keeps_all_of_it() -> None:
    images = [_image("a", v) for v in ("v1", "v2")]
    assert _removed(images, {"a": ["v1", "v2"]}, keep=5) == set()


def test_keeps_the_serving_image_even_if_old() -> None:
    images = [_image("a", v) for v in ("v1", "v2", "v3")]
    assert _removed(images, {"a": ["v1", "v2", "v3"]}, serving={"STACK/a:v1"}, keep=1) == {"STACK/a:v2"}


def test_keeps_an_image_a_queued_or_running_run_refers_to() -> None:
    images = [_image("a", v) for v in ("v1", "v2", "v3")]
    removed = _removed(images, {"a": ["v1", "v2", "v3"]}, serving={"STACK/a:v3"}, in_use={"STACK/a:v1"}, keep=1)
    assert removed == {"STACK/a:v2"}


def test_removes_versions_never_deployed() -> None:
    images = [_image("a", v) for v in ("v1", "refused", "v2")]
    assert _removed(images, {"a": ["v1", "v2"]}, serving={"STACK/a:v2"}, keep=3) == {"STACK/a:refused"}


def test_a_refused_build_in_use_by_a_run_stays() -> None:
    images = [_image("a", "refused")]
    assert _removed(images, {"a": []}, in_use={"STACK/a:refused"}) == set()


def test_location_without_history_loses_everything_not_serving_or_in_use() -> None:
    images = [_image("a", "v1"), _image("a", "v2")]
    assert _removed(images, {}, serving={"STACK/a:v2"}) == {"STACK/a:v1"}


def test_locations_are_independent() -> None:
    images = [_image("a", v) for v in ("v1", "v2", "v3")] + [_image("b", v) for v in ("v1", "v2", "v3")]
    history = {"a": ["v1", "v2", "v3"], "b": ["v3", "v2", "v1"]}
    assert _removed(images, history, keep=1) == {"STACK/a:v1", "STACK/a:v2", "STACK/b:v2", "STACK/b:v3"}


def test_a_version_in_another_locations_history_does_not_protect() -> None:
    images = [_image("a", "shared"), _image("b", "shared")]
    assert _removed(images, {"a": ["shared"], "b": ["other"]}, keep=1) == {"STACK/b:shared"}


def test_result_keeps_the_input_order_and_objects() -> None:
    images = [_image("a", v) for v in ("v3", "v1", "v2")]
    removed = images_to_remove(images, {"a": ["v9"]}, set(), set(), 1)
    assert removed == images
