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
