"""vault: values against a real OpenBao dev server (accounts.crypto.vault):
static token, AppRole, expiring tokens, errors."""
from __future__ import annotations

import base64
import logging
import socket
import time

import pytest

from accounts.crypto import SecretCorrupt, SecretUnavailable, VaultAuthError, vault
from accounts.crypto.vault import vault_decrypt, vault_encrypt
from accounts.secrets import Scheme, active_scheme, seal, unseal
from tests.accounts.conftest import SetEnv
from tests.servers.openbao import OpenBaoServer

PLAINTEXT = "transit pässword ✓"


def use(openbao: OpenBaoServer, set_env: SetEnv, **changes: str) -> None:
    """Point settings.ENV at the test server (a fresh static token unless told otherwise)."""
    fields = {
        "openbao_addr": openbao.addr,
        "openbao_token": "",
        "openbao_role_id": "",
        "openbao_secret_id": "",
        "openbao_mount": openbao.mount,
        "openbao_key": openbao.key,
        **changes,
    }
    if not (fields["openbao_token"] or fields["openbao_role_id"]):
        fields["openbao_token"] = openbao.token()
    set_env(**fields)


def test_round_trip_with_a_static_token(openbao: OpenBaoServer, set_env: SetEnv) -> None:
    use(openbao, set_env)
    assert active_scheme() is Scheme.VAULT
    stored = seal(PLAINTEXT)
    assert stored.startswith("vault:v1:")
    assert PLAINTEXT not in stored
    assert unseal(stored) == PLAINTEXT
    # The value is a genuine Transit ciphertext: OpenBao itself decrypts it.
    answer = openbao.root_client().secrets.transit.decrypt_data(name=openbao.key, ciphertext=stored)
    assert base64.b64decode(answer["data"]["plaintext"]).decode() == PLAINTEXT


def test_round_trip_with_approle(openbao: OpenBaoServer, set_env: SetEnv) -> None:
    use(openbao, set_env, openbao_role_id=openbao.role_id, openbao_secret_id=openbao.secret_id)
    stored = vault_encrypt(plaintext=PLAINTEXT)
    assert stored.startswith("vault:v1:")
    assert vault_decrypt(stored=stored) == PLAINTEXT


def test_wrong_approle_secret_is_a_clear_error(openbao: OpenBaoServer, set_env: SetEnv) -> None:
    use(openbao, set_env, openbao_role_id=openbao.role_id, openbao_secret_id="not-the-secret-id")
    with pytest.raises(VaultAuthError, match="AppRole") as caught:
        seal(PLAINTEXT)
    assert "not-the-secret-id" not in str(caught.value)


def test_expired_static_token_gives_a_clear_error(openbao: OpenBaoServer, set_env: SetEnv) -> None:
    token = openbao.token(ttl=f"{openbao.short_ttl}s")
    use(openbao, set_env, openbao_token=token)
    stored = seal(PLAINTEXT)
    time.sleep(openbao.short_ttl + 1.5)
    with pytest.raises(VaultAuthError) as caught:
        unseal(stored)
    message = str(caught.value)
    assert "JMAP_OPENBAO_TOKEN" in message and "expired" in message
    assert token not in message and PLAINTEXT not in message


def test_expired_approle_token_logs_in_again(
    openbao: OpenBaoServer, set_env: SetEnv, caplog: pytest.LogCaptureFixture
) -> None:
    use(openbao, set_env, openbao_role_id=openbao.short_role_id, openbao_secret_id=openbao.short_secret_id)
    stored = seal(PLAINTEXT)
    time.sleep(openbao.short_ttl + 1.5)
    with caplog.at_level(logging.INFO, logger="accounts.crypto.vault"):
        assert unseal(stored) == PLAINTEXT
    assert "logging in again" in caplog.text
    assert unseal(seal("again")) == "again"


def test_revoked_token_with_approle_recovers(openbao: OpenBaoServer, set_env: SetEnv) -> None:
    use(openbao, set_env, openbao_role_id=openbao.role_id, openbao_secret_id=openbao.secret_id)
    stored = seal(PLAINTEXT)
    (session,) = vault._sessions.values()
    openbao.root_client().auth.token.revoke(session.client.token)
    assert unseal(stored) == PLAINTEXT


def test_tampered_ciphertext_is_corrupt(openbao: OpenBaoServer, set_env: SetEnv) -> None:
    use(openbao, set_env)
    stored = seal(PLAINTEXT)
    body = stored[len("vault:v1:") :]
    flipped = ("A" if body[5] != "A" else "B").join((body[:5], body[6:]))
    with pytest.raises(SecretCorrupt):
        unseal("vault:v1:" + flipped)


def test_unknown_transit_key_is_named(openbao: OpenBaoServer, set_env: SetEnv) -> None:
    use(openbao, set_env, openbao_token=openbao.root_token, openbao_key="no-such-key")
    with pytest.raises(SecretUnavailable, match="no-such-key"):
        unseal("vault:v1:AAAA")


def test_vault_value_without_openbao_configured(openbao: OpenBaoServer, set_env: SetEnv) -> None:
    use(openbao, set_env)
    stored = seal(PLAINTEXT)
    set_env(openbao_addr="", openbao_token="")
    with pytest.raises(SecretUnavailable, match="JMAP_OPENBAO_ADDR") as caught:
        unseal(stored)
    assert PLAINTEXT not in str(caught.value)


def test_address_without_credentials_names_them(set_env: SetEnv) -> None:
    set_env(openbao_addr="http://127.0.0.1:1", openbao_token="", openbao_role_id="", openbao_secret_id="")
    with pytest.raises(SecretUnavailable, match="JMAP_OPENBAO_TOKEN"):
        seal(PLAINTEXT)


def test_unreachable_server_is_unavailable(set_env: SetEnv) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    set_env(openbao_addr=f"http://127.0.0.1:{port}", openbao_token="t", openbao_role_id="", openbao_secret_id="")
    with pytest.raises(SecretUnavailable, match="unreachable"):
        seal(PLAINTEXT)


def test_unknown_transit_mount_is_named(openbao: OpenBaoServer, set_env: SetEnv) -> None:
    use(openbao, set_env, openbao_token=openbao.root_token, openbao_mount="no-such-mount")
    with pytest.raises(SecretUnavailable, match="no-such-mount"):
        seal(PLAINTEXT)
