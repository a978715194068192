"""The console's pages. Reading and deciding go through the domain services (the same ones the
staff API calls, with their role checks); this module turns forms into their arguments and their
answers and errors into pages."""
import functools
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

from flask import (Blueprint, Response, current_app, flash, g, redirect, render_template, request,
                   session, url_for)
from marshmallow import ValidationError

from app.booking import services as booking_services
from app.booking.schemas import StopScheduleSchema
from app.caregivers import services as caregiver_services
from app.caregivers.models import CAREGIVER_STATUSES
from app.caregivers.schemas import CaregiverDecisionSchema
from app.care_disputes import services as dispute_services
from app.care_disputes.models import OUTCOMES
from app.care_disputes.schemas import ResolveSchema
from app.common.auth import current_staff
from app.common.jobs import periodic_jobs
from app.common.masking import mask_id_number, mask_phone
from app.common.time import local_today, to_local
from app.common.validation import localize_messages
from app.console import services
from app.console.csrf import csrf_token, csrf_valid
from app.errors import AppError, ValidationFailed
from app.extensions import db, jobs, limiter
from app.files import services as file_services
from app.hospitals import services as hospital_services
from app.payments import services as payment_services
from app.payments.models import FAILED_REFUND
from app.qualifications import services as qualification_services
from app.qualifications.models import QUALIFICATION_KINDS, QUALIFICATION_STATUSES
from app.qualifications.schemas import QualificationDecisionSchema
from app.staff import services as staff_services
from app.staff.models import STAFF_ROLES
from app.staff_wechat import services as wechat_services
from app.staff.schemas import (BanUserSchema, RealNameDecisionSchema, UnbanUserSchema,
                               WarnUserSchema)

bp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates",
               static_folder="static", static_url_path="/static")

PUBLIC_ENDPOINTS = {"console.sign_in", "console.static"}


class CsrfFailed(AppError):
    status = 403
    code = "csrf_failed"
    message = "页面已过期,请刷新后重试"


class ConsoleForbidden(AppError):
    status = 403
    code = "forbidden"
    message = "没有权限访问此页面"


# ---- every request ---------------------------------------------------------------------------

@bp.before_request
def _guard():
    # CSRF first, for every POST (sign-in too: no one signs a victim into another account)
    if request.method == "POST" and not csrf_valid():
        raise CsrfFailed()
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    try:
        staff = services.signed_in_staff()
    except services.SignedOut as signed_out:
        if signed_out.code != services.SignedOut.code:
            flash(signed_out.message, "warn")
        target = request.full_path.rstrip("?") if request.method == "GET" else None
        return redirect(url_for("console.sign_in", next=target), code=303)
    g.current_staff_id, g.console_role = staff["id"], staff["role"]
    return None


@bp.after_request
def _headers(response):
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "object-src 'none'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
    return response


@bp.context_processor
def _template_globals():
    return {"csrf_token": csrf_token, "role_names": STAFF_ROLES, "to_local": to_local,
            "mask_phone": mask_phone, "mask_id_number": mask_id_number,
            "can": _can, "has_page": lambda endpoint: endpoint in current_app.view_functions,
            "yuan": lambda fen: f"{(fen or 0) / 100:,.2f}"}


@bp.errorhandler(AppError)
def _app_error(error: AppError):
    db.session.rollback()
    # e.g. Retry-After on a locked account
    return (render_template("console/error.html", error=error), error.status,
            getattr(error, "headers", None) or {})


@bp.errorhandler(ValidationError)
def _invalid_form(error: ValidationError):
    # the API's Chinese wording of marshmallow's messages, the same the JSON errors carry
    details = localize_messages(error.normalized_messages())
    messages = [f"{message}" for field_messages in details.values()
                for message in (field_messages if isinstance(field_messages, list)
                                else [field_messages])]
    return _app_error(ValidationFailed("；".join(map(str, messages)) or None, details=details))


def _can(*roles) -> bool:
    role = g.get("console_role")
    return role == "admin" or role in roles


def role_required(*roles):
    """The page's role (admins have all): anyone else gets the 403 page, before any service."""
    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            if not _can(*roles):
                raise ConsoleForbidden()
            return view(*args, **kwargs)
        return wrapper
    return decorator


def _safe_next(target: str | None) -> str:
    """Only a path inside the console: never an open redirect."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and parts.path.startswith("/console/") \
                and "\\" not in target:
            return target
    return url_for("console.dashboard")


def page_arg() -> int:
    try:
        return max(1, min(int(request.args.get("page", 1)), 10000))
    except ValueError:
        return 1


def decision_form(schema):
    """approve / reject with a reason, through the API's own schema (lengths, trimming)."""
    decision = request.form.get("decision")
    if decision not in ("approve", "reject"):
        raise ValidationFailed("请选择通过或驳回", code="decision_required")
    body = {"approve": decision == "approve"}
    if request.form.get("reason", "").strip():
        body["reason"] = request.form["reason"]
    return schema().load(body)


def done(message: str, endpoint: str, **values):
    flash(message, "success")
    return redirect(url_for(endpoint, **values), code=303)


# ---- sign-in ---------------------------------------------------------------------------------

@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def sign_in():
    username = ""
    if request.method == "POST":
        username = request.form.get("username", "").strip()[:32]
        password = request.form.get("password", "")[:256]
        if not username or not password:
            raise ValidationFailed("请输入用户名和密码", code="credentials_required")
        services.sign_in_with_password(username, password)
        return redirect(_safe_next(request.args.get("next")), code=303)
    # inside WeChat a bound staff member signs in through the official account's OAuth (no
    # password) unless they asked for the form, or a message (signed out, expired) waits here
    if ("MicroMessenger" in request.headers.get("User-Agent", "")
            and not request.args.get("password") and not session.get("_flashes")
            and current_app.config.get("WECHAT_OA_APP_ID")
            and "console.wechat_sign_in" in current_app.view_functions):
        return redirect(url_for("console.wechat_sign_in", next=request.args.get("next")), code=303)
    return render_template("console/login.html", username=username)


@bp.post("/logout")
def sign_out():
    services.sign_out()
    flash("已退出登录", "success")
    return redirect(url_for("console.sign_in"), code=303)


# ---- dashboard -------------------------------------------------------------------------------

@bp.get("/")
def dashboard():
    # the same figures the official account's 今日 and 待办 answer with, for this role
    staff = current_staff()
    return render_template("console/dashboard.html", staff=staff,
                           today=wechat_services.today_figures(),
                           pending=wechat_services.todo_counts(staff),
                           lines=wechat_services.TODO_LINES)


# ---- real-name reviews -----------------------------------------------------------------------

@bp.get("/real-name")
@role_required("reviewer")
def real_name_queue():
    result = staff_services.list_real_name_reviews(current_staff(), "pending", page_arg(), 20)
    return render_template("console/real_name.html", result=result)


@bp.post("/real-name/<int:verification_id>")
@role_required("reviewer")
def real_name_decide(verification_id):
    body = decision_form(RealNameDecisionSchema)
    record = staff_services.review_real_name(current_staff(), verification_id, body["approve"],
                                             body.get("reason"))
    return done("已通过" if record.status == "verified" else "已驳回", "console.real_name_queue")


# ---- caregiver applications ------------------------------------------------------------------

@bp.get("/caregivers")
@role_required("reviewer")
def caregiver_queue():
    result = caregiver_services.staff_list_caregivers(current_staff(), status="pending_review",
                                                      page=page_arg())
    return render_template("console/caregivers.html", result=result,
                           statuses=CAREGIVER_STATUSES)


@bp.get("/caregivers/<int:caregiver_id>")
@role_required("reviewer")
def caregiver_detail(caregiver_id):
    caregiver = caregiver_services.staff_get_caregiver(current_staff(), caregiver_id=caregiver_id)
    return render_template("console/caregiver.html", caregiver=caregiver)


@bp.post("/caregivers/<int:caregiver_id>")
@role_required("reviewer")
def caregiver_decide(caregiver_id):
    body = decision_form(CaregiverDecisionSchema)
    caregiver = caregiver_services.decide_application(
        current_staff(), caregiver_id=caregiver_id, approve=body["approve"],
        reason=body.get("reason"))
    return done(f"护工 {caregiver['name']}:{caregiver['status_name']}", "console.caregiver_queue")


# ---- qualifications --------------------------------------------------------------------------

@bp.get("/qualifications")
@role_required("reviewer")
def qualification_queue():
    result = qualification_services.staff_list_qualifications(current_staff(), page=page_arg())
    return render_template("console/qualifications.html", result=result,
                           kinds=QUALIFICATION_KINDS)


@bp.get("/qualifications/<int:qualification_id>")
@role_required("reviewer")
def qualification_detail(qualification_id):
    qualification = qualification_services.staff_get_qualification(
        current_staff(), qualification_id=qualification_id)
    return render_template("console/qualification.html", q=qualification,
                           kinds=QUALIFICATION_KINDS, statuses=QUALIFICATION_STATUSES)


@bp.post("/qualifications/<int:qualification_id>")
@role_required("reviewer")
def qualification_decide(qualification_id):
    body = decision_form(QualificationDecisionSchema)
    qualification = qualification_services.decide(
        current_staff(), qualification_id=qualification_id, approve=body["approve"],
        reason=body.get("reason"))
    return done(f"证件 {qualification.id}:{QUALIFICATION_STATUSES[qualification.status]}",
                 "console.qualification_queue")


# ---- file previews ---------------------------------------------------------------------------

@bp.get("/files/<int:file_id>")
@role_required("reviewer")
def file_preview(file_id):
    """ID photos and certificates, through the files service's own staff check."""
    record, data = file_services.readable_file(current_staff(), file_id)
    return Response(data, mimetype=record.content_type, headers={
        "Content-Disposition": f'inline; filename="file-{record.id}"',
        "Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"})


# ---- users -----------------------------------------------------------------------------------

@bp.get("/users")
@role_required("operator")
def users():
    query = request.args.get("q", "")
    result = services.search_users(current_staff(), query, page_arg())
    warnings = staff_services.user_warnings(current_staff(), [u.id for u in result["items"]])
    return render_template("console/users.html", result=result, q=query, warnings=warnings)


@bp.post("/users/<int:user_id>/ban")
@role_required("operator")
def user_ban(user_id):
    body = BanUserSchema().load({"reason": request.form.get("reason", "")})
    staff_services.ban_user(current_staff(), user_id, body["reason"])
    return done(f"已封禁用户 {user_id}", "console.users", q=request.form.get("q", ""))


@bp.post("/users/<int:user_id>/unban")
@role_required("operator")
def user_unban(user_id):
    reason = request.form.get("reason", "")
    body = UnbanUserSchema().load({"reason": reason} if reason.strip() else {})
    staff_services.unban_user(current_staff(), user_id, body.get("reason"))
    return done(f"已解封用户 {user_id}", "console.users", q=request.form.get("q", ""))


@bp.post("/users/<int:user_id>/warn")
@role_required("operator")
def user_warn(user_id):
    body = WarnUserSchema().load({"reason": request.form.get("reason", "")})
    staff_services.warn_user(current_staff(), user_id, body["reason"])
    return done(f"已警告用户 {user_id}", "console.users", q=request.form.get("q", ""))


# ---- disputes --------------------------------------------------------------------------------

def fen_from_yuan(text: str | None) -> int | None:
    """A yuan amount typed in a form (up to 2 decimals) as fen; empty is None."""
    text = (text or "").strip().replace(",", "")
    if not text:
        return None
    try:
        amount = Decimal(text)
        valid = abs(amount) <= 10_000_000 and amount == amount.quantize(Decimal("0.01"))
    except InvalidOperation:  # not a number, NaN, or too many digits to quantize
        valid = False
    if not valid:
        raise ValidationFailed.for_field("refund_fen", "请输入正确的金额(元,最多两位小数)",
                                         code="invalid_amount")
    return int(amount * 100)


@bp.get("/disputes")
@role_required("operator")
def disputes():
    result = dispute_services.staff_list_disputes(current_staff(), status="open", page=page_arg())
    return render_template("console/disputes.html", result=result)


@bp.get("/disputes/<int:dispute_id>")
@role_required("operator")
def dispute_detail(dispute_id):
    dispute = dispute_services.staff_dispute(current_staff(), dispute_id=dispute_id)
    return render_template("console/dispute.html", d=dispute, outcomes=OUTCOMES)


@bp.get("/disputes/<int:dispute_id>/evidence/<int:file_id>")
@role_required("operator")
def dispute_evidence(dispute_id, file_id):
    record, data = dispute_services.staff_evidence(current_staff(), dispute_id=dispute_id,
                                                   file_id=file_id)
    return Response(data, mimetype=record.content_type, headers={
        "Content-Disposition": f'inline; filename="evidence-{record.id}"',
        "Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"})


@bp.post("/disputes/<int:dispute_id>/resolve")
@role_required("operator")
def dispute_resolve(dispute_id):
    body = ResolveSchema().load({"outcome": request.form.get("outcome", ""),
                                 "refund_fen": fen_from_yuan(request.form.get("refund_yuan")),
                                 "note": request.form.get("note", "")})
    dispute = dispute_services.staff_dispute(current_staff(), dispute_id=dispute_id)
    dispute_services.resolve(current_staff(), order_id=dispute["order_id"], **body)
    return done(f"纠纷 {dispute['order_no']} 已处理:{OUTCOMES[body['outcome']]}",
                 "console.dispute_detail", dispute_id=dispute_id)


# ---- failed refunds --------------------------------------------------------------------------

@bp.get("/refunds")
@role_required("operator")
def failed_refunds():
    result = payment_services.list_refunds(current_staff(), status=FAILED_REFUND, page=page_arg())
    return render_template("console/refunds.html", result=result)


@bp.post("/refunds/<int:refund_id>/retry")
@role_required("operator")
def refund_retry(refund_id):
    refund = payment_services.retry_refund(current_staff(), refund_id=refund_id)
    return done(f"退款 {refund.out_refund_no} 已重新提交", "console.failed_refunds")


# ---- jobs ------------------------------------------------------------------------------------

@bp.get("/jobs")
@role_required("admin")
def jobs_page():
    return render_template("console/jobs.html", report=jobs.queue_report(limit=10),
                           periodic=periodic_jobs())


@bp.post("/jobs/retry-failed")
@role_required("admin")
def jobs_retry_failed():
    count = staff_services.retry_failed_jobs(current_staff(), request.form.get("queue") or None)
    return done(f"已重新排队 {count} 个失败任务", "console.jobs_page")


@bp.post("/jobs/run-now")
@role_required("admin")
def jobs_run_now():
    entry = staff_services.run_periodic_job(current_staff(), request.form.get("name", "")[:200])
    return done(f"已排队立即运行:{entry['label']}", "console.jobs_page")


# ---- hospitals and clinics (停诊) --------------------------------------------------------------

def int_arg(name: str) -> int | None:
    value = request.values.get(name, "")
    return int(value) if value.isascii() and value.isdigit() and len(value) < 19 else None


def day_arg() -> date:
    try:
        return date.fromisoformat(request.values.get("day", ""))
    except ValueError:
        return local_today()


@bp.get("/schedules")
@role_required("operator")
def schedules():
    """Hospital → department → one day's clinics, each with 停诊 while it is open (the public
    catalogue services: what patients see is what staff stop)."""
    hospital_id, department_id = int_arg("hospital_id"), int_arg("department_id")
    if hospital_id is None:
        query = request.args.get("q", "").strip()[:32]
        return render_template("console/hospitals.html", q=query, result=hospital_services
                               .list_hospitals(keyword=query or None, page=page_arg()))
    hospital = hospital_services.get_hospital(hospital_id=hospital_id)
    day = clinics = None
    if department_id is not None:
        day = day_arg()
        try:
            clinics = hospital_services.list_day_schedules(
                hospital_id=hospital_id, department_id=department_id, day=day)
        except hospital_services.DateOutOfWindow as error:
            if "day" in request.args:
                raise
            # no day asked for and today is not shown (e.g. after the stop time): the first day
            day = date.fromisoformat(error.details["from"])
            clinics = hospital_services.list_day_schedules(
                hospital_id=hospital_id, department_id=department_id, day=day)
    return render_template("console/schedules.html", hospital=hospital, clinics=clinics,
                           department_id=department_id, day=day, timedelta=timedelta)


@bp.post("/schedules/<int:schedule_id>/stop")
@role_required("operator")
def schedule_stop(schedule_id):
    body = StopScheduleSchema().load({"reason": request.form.get("reason", "")})
    result = booking_services.stop_schedule(current_staff(), schedule_id=schedule_id,
                                            reason=body["reason"])
    flash(f"已停诊:{result['stopped']} 个已付费预约将全额退款,{result['closed']} 个未付费订单已关闭",
          "success")
    back = {"hospital_id": int_arg("hospital_id"), "department_id": int_arg("department_id"),
            "day": day_arg().isoformat()}
    return redirect(url_for("console.schedules", **{k: v for k, v in back.items() if v}),
                    code=303)
