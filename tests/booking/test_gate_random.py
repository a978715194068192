"""Randomized proof of the hot-slot gate, over HTTP against the live test server.

Per round: a schedule with 1, 10 or 50 slots and 200 clients that book, retry while sold out,
cancel at random; a chaos thread closes unpaid orders as the TTL job does, loses gate
give-backs at random (a decrement by hand after a close; also one as a process dying between
the gate and its commit leaves it) and flushes the test's own Redis db in the middle. A monitor samples the database's
free count. Asserted: never oversold (the database's count, the active orders and every answer
agree), every answer is a booking or `slot_sold_out`, and no sold-out answer was sent after the
database had had a seat for 5 s straight, nobody getting one meanwhile, and received while it
still had one (the gate stuck closed).

GATE_RANDOM_ROUNDS (default 1) rounds per stock; GATE_RANDOM_SECONDS (default 12) per round;
GATE_RANDOM_SEED fixes the seed (each round prints its own, to replay a failure).
"""
import os
import random
import threading
import time
from datetime import timedelta

import pytest
import requests
from sqlalchemy import func, select

from app.booking import services
from app.booking.models import Registration
from app.booking.slots import gate
from app.common.time import utcnow
from app.extensions import db, redis_client
from app.hospitals.models import Schedule

CLIENTS = 200
ROUNDS = int(os.environ.get("GATE_RANDOM_ROUNDS", "1"))
SECONDS = float(os.environ.get("GATE_RANDOM_SECONDS", "12"))
SOLD_OUT_BOUND = 5.0  # the promise: never sold out for longer while a seat exists
SAMPLE_EVERY = 0.05


class Round:
    def __init__(self, app, schedule_id, people, seed):
        self.app, self.schedule_id, self.people = app, schedule_id, people
        self.random = random.Random(seed)
        self.url = app.config["LIVE_URL"] + "/api/v1"
        self.lock = threading.Lock()
        self.answers = []      # (sent, received, status, code)
        self.cancels = 0
        self.closes = 0
        self.lost_give_backs = 0
        self.lose_next = False
        self.samples = []      # (time, free in the database)
        self.gate_samples = []  # (time, the gate's count), to explain a failure
        self.flushed_at = None
        self.stop = threading.Event()
        self.deadline = None

    # ---------------------------------------------------------------------------- actors

    def client(self, person, barrier, seed):
        rnd = random.Random(seed)
        session = requests.Session()
        barrier.wait()
        while time.monotonic() < self.deadline:
            sent = time.monotonic()
            response = session.post(self.url + "/registrations", headers=person["headers"],
                                    timeout=60, json={"schedule_id": self.schedule_id,
                                                      "patient_id": person["patient_id"]})
            received = time.monotonic()
            body = response.json()
            code = body["error"]["code"] if response.status_code >= 400 else None
            with self.lock:
                self.answers.append((sent, received, response.status_code, code))
            if response.status_code == 201:
                if rnd.random() < 0.5:
                    time.sleep(rnd.uniform(0, 1.0))
                    registration_id = body["registration"]["id"]
                    cancelled = session.post(f"{self.url}/registrations/{registration_id}/cancel",
                                             headers=person["headers"], timeout=60)
                    if cancelled.status_code != 200:
                        # (the FLUSHDB can cost the simulator a lock mid-close): the order
                        # may still be active, so this client books no more
                        return
                    with self.lock:
                        self.cancels += 1
                    continue
                return  # keeps the order; the TTL close may take it away later
            if code != "slot_sold_out":
                return
            time.sleep(rnd.uniform(0.1, 0.5))

    def chaos(self):
        rnd = self.random
        # the flush (which rebuilds the gate) early enough, and the last lost give-back 6 s
        # before the end: a gate that did not heal would have 5 s to show it
        flush_at = self.deadline - SECONDS * 0.7
        last_loss = self.deadline - SOLD_OUT_BOUND - 1
        while time.monotonic() < self.deadline:
            time.sleep(rnd.uniform(0.2, 0.6))
            with self.app.app_context():
                if self.flushed_at is None and time.monotonic() >= flush_at:
                    redis_client.conn.flushdb()  # the test's own Redis db only
                    self.flushed_at = time.monotonic()
                    self.lose_next = True
                roll = rnd.random()
                key = gate.key(self.schedule_id)
                if roll < 0.6:  # the TTL job closes an unpaid order (not one still in
                    # its booking request: the real TTL is minutes)
                    pending = db.session.scalars(select(Registration.id).where(
                        Registration.schedule_id == self.schedule_id,
                        Registration.status == "pending_payment",
                        Registration.created_at < utcnow() - timedelta(seconds=1))).all()
                    db.session.rollback()
                    if pending and services.close_registration(rnd.choice(pending)) != "noop":
                        self.closes += 1
                        # its give-back to the gate is lost: always the first after the
                        # flush (so a stuck gate would have the rest of the round to show)
                        if time.monotonic() < last_loss and (
                                self.lose_next or rnd.random() < 0.5):
                            self.lose_next = False
                            redis_client.conn.decr(key)
                            self.lost_give_backs += 1
                elif roll < 0.7 and time.monotonic() < last_loss:
                    # a process died between its decrement and its commit
                    value = redis_client.conn.get(key)
                    if value is not None and int(value) > 0:
                        redis_client.conn.decr(key)
                        self.lost_give_backs += 1
                db.session.remove()

    def monitor(self):
        with self.app.app_context():
            while not self.stop.is_set():
                free = db.session.scalar(select(Schedule.available).where(
                    Schedule.id == self.schedule_id))
                db.session.rollback()
                at = time.monotonic()
                self.samples.append((at, free))
                self.gate_samples.append((at, redis_client.conn.get(gate.key(self.schedule_id))))
                time.sleep(SAMPLE_EVERY)
            db.session.remove()

    def run(self):
        barrier = threading.Barrier(len(self.people) + 1)
        self.deadline = time.monotonic() + SECONDS + 1  # set before anyone passes the barrier
        clients = [threading.Thread(target=self.client, args=(person, barrier,
                                                              self.random.random()))
                   for person in self.people]
        for thread in clients:
            thread.start()
        monitor = threading.Thread(target=self.monitor)
        monitor.start()
        barrier.wait()
        chaos = threading.Thread(target=self.chaos)
        chaos.start()
        for thread in clients:
            thread.join()
        chaos.join()
        self.stop.set()
        monitor.join()

    # --------------------------------------------------------------------------- verdicts

    def seat_spans(self):
        """Maximal runs of samples in which the database had a free seat: (first, last)."""
        spans, start, last = [], None, None
        for at, free in self.samples:
            if free > 0:
                start = at if start is None else start
                last = at
            elif start is not None:
                spans.append((start, last))
                start = None
        if start is not None:
            spans.append((start, last))
        return spans

    def stale_sold_outs(self):
        """Sold-out answers that prove the gate stuck: the database had a free seat all through
        the 5 s before the request and until its answer, and in that time nobody got one. (A
        free seat with bookings going through is a seat spoken for by a request in flight, or
        freed a moment ago: the gate is open, not stuck.)"""
        spans = self.seat_spans()
        booked_at = sorted(received for _, received, status, _ in self.answers if status == 201)
        stale = []
        for sent, received, _, code in self.answers:
            if code != "slot_sold_out":
                continue
            for start, end in spans:
                if start + SOLD_OUT_BOUND <= sent and received <= end and not any(
                        sent - SOLD_OUT_BOUND <= at <= received for at in booked_at):
                    stale.append((sent, received, start))
        return sorted(stale)

    def trace(self, stale):
        """(s since start, free in the database, the gate) over the 6 s before the first."""
        first = stale[0][0]
        origin = self.samples[0][0]
        return [(round(at - origin, 2), free, gate_value)
                for (at, free), (_, gate_value) in zip(self.samples, self.gate_samples)
                if first - SOLD_OUT_BOUND - 1 <= at <= first][::4]


def orders(app, schedule_id):
    """(every order of the schedule, the active ones, free, total) from the database."""
    with app.app_context():
        everyone = select(func.count()).select_from(Registration).where(
            Registration.schedule_id == schedule_id)
        rows = db.session.scalar(everyone)
        count = db.session.scalar(everyone.where(Registration.active.is_(True)))
        row = db.session.get(Schedule, schedule_id)
        state = (rows, count, row.available, row.total)
        db.session.remove()
    return state


@pytest.mark.parametrize("stock", [1, 10, 50])
def test_random_races_never_oversell_and_never_stay_sold_out(app, catalogue, verified, stock):
    base_seed = int(os.environ.get("GATE_RANDOM_SEED", random.randrange(10 ** 9)))
    for index in range(ROUNDS):
        seed = base_seed + index
        # a doctor per round: one schedule per doctor, day and period
        schedule_id = catalogue["schedule"](total=stock, doctor_id=catalogue["another_doctor"]())
        people = verified(CLIENTS, prefix=f"random-{stock}-{index}")
        current = Round(app, schedule_id, people, seed)
        current.run()
        label = f"stock {stock}, round {index + 1}/{ROUNDS}, seed {seed}"

        rows, count, available, total = orders(app, schedule_id)
        assert 0 <= available <= total, label
        assert count == total - available, (label, count, available)
        odd = {(status, code) for _, _, status, code in current.answers
               if status != 201 and code != "slot_sold_out"}
        assert not odd, (label, odd)
        booked = sum(1 for _, _, status, _ in current.answers if status == 201)
        assert rows == booked, (label, rows, booked)
        assert min(free for _, free in current.samples) >= 0, label
        assert current.flushed_at is not None, label
        stale = current.stale_sold_outs()
        assert not stale, (label, f"{len(stale)} sold-out answers while the database had a "
                           f"seat for {SOLD_OUT_BOUND} s and nobody got one: (seat for s, "
                           "request took s)", [(round(sent - start, 2), round(received - sent, 2))
                                               for sent, received, start in stale[:10]],
                           "(time, free, gate):", current.trace(stale))
        print(f"{label}: {len(current.answers)} answers, {booked} bookings, "
              f"{current.cancels} cancels, {current.closes} TTL closes, "
              f"{current.lost_give_backs} lost give-backs, flushed; active {count}, "
              f"free {available}; 0 oversell, 0 stale sold-out answers")
