"""The account hierarchy as SQL: an account with its ancestors, or with its descendants.

Both are recursive CTEs bounded by `MAX_DEPTH`, so a cycle (refused when accounts are written)
could never make a query run forever.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, literal, select

from ordino.accounts.models import Account

ACCOUNT = cast(Table, Account.__table__)
MAX_DEPTH = 32  # as pricing walks the hierarchy


def ancestors(account_id: Any) -> Any:
    """A CTE of the account and its ancestors (id, parent_id, number, depth; 0 = the account)."""
    chain = (
        select(ACCOUNT.c.id, ACCOUNT.c.parent_id, ACCOUNT.c.number, literal(0).label("depth"))
        .where(ACCOUNT.c.id == account_id)
        .cte("account_chain", recursive=True)
    )
    parent = ACCOUNT.alias("parent")
    return chain.union_all(
        select(parent.c.id, parent.c.parent_id, parent.c.number, chain.c.depth + 1).where(
            parent.c.id == chain.c.parent_id, chain.c.depth < MAX_DEPTH
        )
    )


def subtree(account_id: Any) -> Any:
    """A CTE of the account and its descendants (id, depth)."""
    tree = select(ACCOUNT.c.id, literal(0).label("depth")).where(ACCOUNT.c.id == account_id).cte(
        "account_subtree", recursive=True
    )
    child = ACCOUNT.alias("child")
    return tree.union_all(
        select(child.c.id, tree.c.depth + 1).where(child.c.parent_id == tree.c.id, tree.c.depth < MAX_DEPTH)
    )
