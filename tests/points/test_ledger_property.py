"""Property: after any history of earn / spend / expire / refund, run from several threads at
once on the real database, every user's balance equals the sum of their ledger entries and of
their lots, every transaction's entries sum to zero, and no balance was ever below zero."""
import threading
from datetime import timedelta
from types import SimpleNamespace

from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import select

from app.common.deadlock import retry_deadlock
from app.common.time import utcnow
from app.extensions import db
from app.points import services
from app.points.models import PointBalance
from app.points.services import PointsInsufficient, PointsOverLimit
from app.users.models import User
from tests.points.conftest import ledger_problems

USERS = 3
THREADS = 3

operation = st.one_of(
    st.tuples(st.just("earn"), st.integers(0, USERS - 1), st.integers(1, 60),
              st.sampled_from([0, 0, 200, 380])),                 # days ago: some expire
    st.tuples(st.just("spend"), st.integers(0, USERS - 1), st.integers(1, 80), st.just(0)),
    st.tuples(st.just("expire"), st.just(0), st.just(0), st.just(0)),
    st.tuples(st.just("refund"), st.integers(0, USERS - 1), st.integers(0, 1000), st.just(0)),
)


@retry_deadlock
def _apply(op, user_id, ref, amount, days_ago, refs):
    if op == "earn":
        services.earn(user_id, order_type="prop", order_id=ref, points=amount,
                      description="测试", now=utcnow() - timedelta(days=days_ago))
        refs.append(ref)
    elif op == "spend":
        services.spend_for_order(SimpleNamespace(id=user_id), "prop", ref, price_fen=10_000,
                                 points=amount)
        refs.append(ref)
    elif op == "refund" and refs:
        services.reverse_order("prop", refs[amount % len(refs)])
    db.session.commit()


def _run(app, ops, user_ids, counter, lock, negatives, errors):
    refs = {user_id: [] for user_id in user_ids}
    try:
        with app.app_context():
            for op, user_index, amount, days_ago in ops:
                user_id = user_ids[user_index]
                with lock:
                    counter[0] += 1
                    ref = counter[0]
                try:
                    if op == "expire":
                        services.expire_due_lots()
                    else:
                        _apply(op, user_id, ref, amount, days_ago, refs[user_id])
                except (PointsInsufficient, PointsOverLimit):
                    db.session.rollback()
                low = db.session.scalar(select(PointBalance.balance).order_by(
                    PointBalance.balance).limit(1))
                db.session.rollback()
                if low is not None and low < 0:
                    negatives.append(low)
            db.session.remove()
    except Exception as error:  # noqa: BLE001  (reported by the test)
        errors.append(repr(error))


@settings(derandomize=True, database=None, suppress_health_check=list(HealthCheck),
          deadline=None, max_examples=8)
@given(st.lists(st.lists(operation, min_size=1, max_size=12), min_size=THREADS,
                max_size=THREADS))
def _history(app, histories):
    with app.app_context():
        users = [User(openid=f"points-{threading.get_ident()}-{utcnow().timestamp()}-{i}",
                      status="active", token_version=1) for i in range(USERS)]
        db.session.add_all(users)
        db.session.commit()
        user_ids = [user.id for user in users]
        db.session.remove()
    counter, lock, negatives, errors = [0], threading.Lock(), [], []
    with app.app_context():  # refs unique across examples (the ledger keeps old ones)
        from sqlalchemy import func

        from app.points.models import PointTransaction
        counter[0] = db.session.scalar(select(func.coalesce(func.max(PointTransaction.order_id),
                                                            0))) or 0
        db.session.remove()
    threads = [threading.Thread(target=_run, args=(app, ops, user_ids, counter, lock,
                                                   negatives, errors))
               for ops in histories]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert negatives == []
    with app.app_context():  # a last expiry run: nothing left past its date
        services.expire_due_lots()
        db.session.remove()
    assert ledger_problems(app) == []


def test_the_ledger_equals_the_balances_after_a_concurrent_random_history(app):
    _history(app)
