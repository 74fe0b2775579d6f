"""What a push connection is recorded as having authenticated with
(jmapcore.push.revocation.connection_credential), and how the poll judges it."""
from __future__ import annotations

from accounts.models import ApiToken
from jmapcore.push.revocation import TOKEN_GONE, connection_credential, revoked_among
from tests.personas import Persona


def test_the_bearer_token_is_found_again_and_judged_live(alice: Persona) -> None:
    credential = connection_credential(pool=alice.pool, authorization=alice.bearer, account_pks=[alice.account.pk])
    token = ApiToken.objects.get(pool=alice.pool)
    assert credential.token_pk == token.pk
    revocation = revoked_among(token_pks={token.pk}, pool_pks={alice.pool.pk}, account_pks={alice.account.pk})
    assert not revocation.token_pks and not revocation.pool_pks and not revocation.account_pks


def test_a_token_deleted_right_after_authentication_still_closes_the_connection(alice: Persona) -> None:
    """Deleted between authentication and this lookup: the connection must not
    pass for a Basic one that only the login's removal would close."""
    ApiToken.objects.filter(pool=alice.pool).delete()
    credential = connection_credential(pool=alice.pool, authorization=alice.bearer, account_pks=[alice.account.pk])
    assert credential.token_pk == TOKEN_GONE
    revocation = revoked_among(token_pks={TOKEN_GONE}, pool_pks={alice.pool.pk}, account_pks={alice.account.pk})
    assert revocation.token_pks == {TOKEN_GONE}


def test_another_logins_token_is_not_mistaken_for_ours(alice: Persona, bob: Persona) -> None:
    credential = connection_credential(pool=alice.pool, authorization=bob.bearer, account_pks=[alice.account.pk])
    assert credential.token_pk == TOKEN_GONE


def test_basic_auth_has_no_token(alice: Persona) -> None:
    credential = connection_credential(pool=alice.pool, authorization=alice.basic, account_pks=[alice.account.pk])
    assert credential.token_pk is None and credential.pool_pk == alice.pool.pk
