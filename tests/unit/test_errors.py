from __future__ import annotations

import pytest

from hokusai_action.errors import MissingExtraError, require


def test_require_returns_an_installed_module():
    assert require("json", extra="registry", feature="register").dumps([]) == "[]"


def test_require_names_the_install_command_for_a_missing_extra():
    with pytest.raises(MissingExtraError) as caught:
        require("no_such_module_hokusai", extra="registry", feature="`register`")
    message = str(caught.value)
    assert "pip install 'hokusai-action[registry]'" in message
    assert "`register` needs `no_such_module_hokusai`" in message


def _collectable(obj: object) -> bool:
    """Whether the collector still looks at `obj` (frozen objects are in no generation)."""
    import gc

    return any(o is obj for o in gc.get_objects())


def test_a_heavy_import_runs_without_the_collector_and_freezes_what_it_built() -> None:
    import gc

    from hokusai_action.errors import heavy_import

    assert gc.isenabled()
    with heavy_import("a_module_not_imported_yet"):
        assert not gc.isenabled()
        with heavy_import("another_one"):  # nested: the outer one restores
            assert not gc.isenabled()
        assert not gc.isenabled()
        kept = [[] for _ in range(10)]  # built by the import, alive after it
    assert gc.isenabled()
    assert not _collectable(kept[0])


def test_a_library_already_imported_freezes_nothing_more() -> None:
    import gc

    from hokusai_action.errors import heavy_import

    with heavy_import("json", "gc"):
        assert gc.isenabled()
        garbage = [[] for _ in range(10)]
    assert _collectable(garbage[0])
