"""The data dictionary: public browsing for the client's pickers, admin edits, and Excel import
and export.

Every write, from the API or from a workbook, goes through the same checks (`_check_tree`):
a code matches its category's rule, a parent exists in the same category, no node becomes its
own ancestor, the tree stays within its category's depth, and a region code agrees with its
parent's prefix (GB/T 2260: 省 110000, 市 110100, 区县 110101). An import checks every row
before it writes any, and writes them all in one transaction: a workbook is taken whole or not
at all.

Small workbooks are imported within the request; larger ones by a job (app/tasks/dictionary.py)
whose progress the import row shows (rows read of the total, then the final status and the
error report).
"""
import io
import json
import logging
import re
import uuid
import zipfile
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import bindparam, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from app.common.pagination import paginate
from app.common.replica import reader
from app.common.time import utcnow
from app.dictionary.models import CATEGORIES, IMPORT_MODES, DictImport, DictNode
from app.errors import AppError, Conflict, NotFound, PayloadTooLarge, UnsupportedMediaType, \
    ValidationFailed
from app.extensions import db, jobs
from app.files.storage import storage
from app.staff.services import require_role

log = logging.getLogger("app.dictionary")

# category -> (code pattern, what the pattern means, deepest level)
RULES = {
    "region": (r"[1-9]\d{5}", "6 位数字(GB/T 2260)", 3),
    "hospital_level": (r"[0-9A-Z]{1,4}", "1 到 4 位数字或大写字母", 1),
    "id_type": (r"[a-z][a-z0-9_]{0,31}", "小写字母开头,由小写字母、数字和下划线组成", 1),
    "department": (r"\d{2}(\.\d{2})?", "2 位数字,二级科目为「上级编码.2 位数字」", 2),
    "care_skill": (r"[a-z][a-z0-9_]{0,31}", "小写字母开头,由小写字母、数字和下划线组成", 1),
    "education": (r"\d{2}", "2 位数字(GB/T 4658)", 2),
    "ethnicity": (r"\d{2}", "2 位数字(GB 3304)", 1),
}
_PATTERNS = {category: re.compile(pattern) for category, (pattern, _, _) in RULES.items()}
HEADERS = ("分类", "编码", "名称", "上级编码", "排序", "启用")
SHEET_TITLE = "数据字典"
MAX_IMPORT_ROWS = 50_000
MAX_IMPORT_BYTES = 5 * 1024 * 1024
MAX_UNZIPPED_BYTES = 200 * 1024 * 1024  # a workbook that inflates past this is a zip bomb
INLINE_ROWS = 2_000  # up to this many rows an import finishes within the request
PROGRESS_EVERY = 500  # rows between two progress commits of a job
MAX_REPORTED_ERRORS = 1_000
NAME_MAX = 64
SORT_MIN, SORT_MAX = -1_000_000, 1_000_000
_TRUE = {"是", "true", "1", "y", "yes", "启用"}
_FALSE = {"否", "false", "0", "n", "no", "停用"}
_CATEGORY_BY_NAME = {name: key for key, name in CATEGORIES.items()}


# ---- errors ------------------------------------------------------------------------------------

class NodeNotFound(NotFound):
    code = "dictionary_node_not_found"
    message = "字典项不存在"


class ImportNotFound(NotFound):
    code = "dictionary_import_not_found"
    message = "导入任务不存在"


class CodeTaken(Conflict):
    code = "dictionary_code_taken"
    message = "该分类下已有相同编码"


class InvalidCode(ValidationFailed):
    code = "dictionary_invalid_code"
    message = "编码格式不正确"


class ParentNotFound(ValidationFailed):
    code = "dictionary_parent_not_found"
    message = "上级编码不存在"


class CycleRefused(Conflict):
    code = "dictionary_cycle"
    message = "不能移动到自身或其下级之下"


class TooDeep(ValidationFailed):
    code = "dictionary_too_deep"
    message = "超出该分类允许的层级"


class ImportFileMissing(ValidationFailed):
    code = "dictionary_import_file_missing"
    message = "请上传 Excel 文件(multipart 字段 file)"


class ImportNotExcel(UnsupportedMediaType):
    code = "dictionary_import_not_excel"
    message = "仅支持 Excel 工作簿(.xlsx)"


class ImportCorrupt(ValidationFailed):
    code = "dictionary_import_corrupt"
    message = "Excel 文件已损坏,无法读取"


class ImportTooLarge(PayloadTooLarge):
    code = "dictionary_import_too_large"
    message = f"文件不能超过 {MAX_IMPORT_BYTES // (1024 * 1024)} MB"


class ImportBadColumns(ValidationFailed):
    code = "dictionary_import_bad_columns"
    message = "表头应依次为: " + "、".join(HEADERS)


class ImportTooManyRows(ValidationFailed):
    code = "dictionary_import_too_many_rows"
    message = "行数过多"


class ImportEmpty(ValidationFailed):
    code = "dictionary_import_empty"
    message = "文件中没有数据行"


class ImportInvalid(ValidationFailed):
    code = "dictionary_import_invalid"
    message = "导入文件有错误,未导入任何数据"


CREATE_ERRORS = (CodeTaken, InvalidCode, ParentNotFound, CycleRefused, TooDeep)
UPDATE_ERRORS = (NodeNotFound, ParentNotFound, CycleRefused, TooDeep, InvalidCode)
IMPORT_ERRORS = (ImportFileMissing, ImportNotExcel, ImportCorrupt, ImportTooLarge,
                 ImportBadColumns, ImportTooManyRows, ImportEmpty, ImportInvalid)


def _setting(name: str, default):
    return current_app.config.get(name, default)


# ---- the tree's rules ----------------------------------------------------------------------

@dataclass
class Row:
    """A node as the checks see it: from the database, the API or a workbook row."""
    category: str
    code: str
    name: str
    parent_code: str | None
    sort_order: int = 0
    is_active: bool = True
    row: int | None = None  # the workbook row it came from


def _code_error(category: str, code: str, parent: "Row | None") -> str | None:
    """Why `code` cannot be a node of `category` under `parent`, or None."""
    pattern, meaning, _ = RULES[category]
    if not _PATTERNS[category].fullmatch(code or ""):
        return f"{CATEGORIES[category]}编码应为{meaning}"
    if category == "region":
        if parent is None and not code.endswith("0000"):
            return "省级编码应以 0000 结尾(市级、区县须填上级编码)"
        if parent is not None and parent.code.endswith("0000"):
            if code[:2] != parent.code[:2] or not code.endswith("00") or code.endswith("0000"):
                return f"市级编码应以上级 {parent.code[:2]} 开头、以 00 结尾"
        elif parent is not None and parent.code.endswith("00"):
            if code[:4] != parent.code[:4] or code.endswith("00"):
                return f"区县编码应以上级 {parent.code[:4]} 开头且不以 00 结尾"
        elif parent is not None:
            return "区县之下不能再有下级"
    if category == "department":
        if parent is None and "." in code:
            return "二级科目须填上级编码"
        if parent is not None and not code.startswith(parent.code + "."):
            return f"二级科目编码应为「{parent.code}.2 位数字」"
    return None


def _check_tree(category: str, nodes: dict[str, Row], changed: list[Row]) -> list[tuple]:
    """Problems of `changed` (rows of `category`) within the whole category `nodes` (code ->
    Row, changed rows included): (row, field, code, message) each."""
    problems = []
    max_depth = RULES[category][2]
    children: dict[str, list[str]] = {}
    for node in nodes.values():
        if node.parent_code is not None:
            children.setdefault(node.parent_code, []).append(node.code)

    def height(code: str, seen: set) -> int:
        below = [height(child, seen | {child}) for child in children.get(code, ())
                 if child not in seen]
        return 1 + max(below, default=0)

    for row in changed:
        parent = None
        if row.parent_code is not None:
            parent = nodes.get(row.parent_code)
            if parent is None:
                problems.append((row, "parent_code", ParentNotFound.code,
                                 f"上级编码 {row.parent_code} 在{CATEGORIES[category]}中不存在"))
                continue
        # walk up: meeting the row again is a cycle; the chain's length is its depth
        depth, seen, cursor, cycle = 1, {row.code}, parent, False
        while cursor is not None:
            if cursor.code in seen:
                cycle = True
                break
            seen.add(cursor.code)
            depth += 1
            cursor = nodes.get(cursor.parent_code) if cursor.parent_code else None
        if cycle:
            problems.append((row, "parent_code", CycleRefused.code,
                             f"上级关系成环: {row.code} 不能位于自身或其下级之下"))
            continue
        message = _code_error(category, row.code, parent)
        if message:
            problems.append((row, "code", InvalidCode.code, message))
            continue
        if depth - 1 + height(row.code, {row.code}) > max_depth:
            problems.append((row, "parent_code", TooDeep.code,
                             f"{CATEGORIES[category]}最多 {max_depth} 级"))
    return problems


def _category_rows(category: str, session=None) -> dict[str, Row]:
    session = session or db.session
    return {code: Row(category, code, name, parent, sort, bool(active))
            for code, name, parent, sort, active in session.execute(
                select(DictNode.code, DictNode.name, DictNode.parent_code, DictNode.sort_order,
                       DictNode.is_active).where(DictNode.category == category))}


def _raise_first(problems):
    row, field, code, message = problems[0]
    error = {ParentNotFound.code: ParentNotFound, CycleRefused.code: CycleRefused,
             TooDeep.code: TooDeep, InvalidCode.code: InvalidCode}[code]
    raise error(message, details={field: [message]})


def _after_change(categories):
    """After a commit that changed the dictionary: hospitals show region names from it."""
    if "region" in categories:
        from app.hospitals import cache
        cache.invalidate_catalogue()


# ---- public reads ------------------------------------------------------------------------------

def list_categories() -> list[dict]:
    counts = dict(reader().execute(select(DictNode.category, func.count()).where(
        DictNode.is_active.is_(True)).group_by(DictNode.category)).all())
    return [{"key": key, "name": name, "count": counts.get(key, 0), "max_depth": RULES[key][2],
             "code_rule": RULES[key][1]} for key, name in CATEGORIES.items()]


def _node_dicts(nodes, with_children: bool = True) -> list[dict]:
    """Nodes as answers, each with whether it has children (a picker shows an arrow)."""
    nodes = list(nodes)
    parents = set()
    if with_children and nodes:
        by_category: dict[str, list[str]] = {}
        for node in nodes:
            by_category.setdefault(node.category, []).append(node.code)
        for category, codes in by_category.items():
            parents.update((category, code) for code in reader().scalars(
                select(DictNode.parent_code).where(
                    DictNode.category == category, DictNode.parent_code.in_(codes),
                    DictNode.is_active.is_(True)).distinct()))
    return [{"id": node.id, "category": node.category, "code": node.code, "name": node.name,
             "parent_code": node.parent_code, "sort_order": node.sort_order,
             "is_active": node.is_active,
             "has_children": (node.category, node.code) in parents} for node in nodes]


def _check_category(category: str):
    if category not in CATEGORIES:
        raise NodeNotFound("字典分类不存在", code="dictionary_category_not_found")


def list_children(*, category: str, parent_code: str | None = None, include_inactive=False,
                  page: int = 1, page_size: int = 100) -> dict:
    """Children of `parent_code` (top level without one), in display order."""
    _check_category(category)
    if parent_code is not None:
        parent = reader().scalar(select(DictNode).where(
            DictNode.category == category, DictNode.code == parent_code))
        if parent is None or not (parent.is_active or include_inactive):
            raise NodeNotFound()
    statement = select(DictNode).where(DictNode.category == category, (
        DictNode.parent_code == parent_code) if parent_code is not None
        else DictNode.parent_code.is_(None))
    if not include_inactive:
        statement = statement.where(DictNode.is_active.is_(True))
    result = paginate(statement.order_by(DictNode.sort_order, DictNode.code, DictNode.id),
                      page, page_size)
    return {**result, "items": _node_dicts(result["items"])}


def get_node(*, category: str, code: str) -> dict:
    """One node by code, with its ancestors (top first): a region code's full name. Retired
    (inactive) nodes are answered too, so old codes still resolve to names."""
    _check_category(category)
    node = reader().scalar(select(DictNode).where(DictNode.category == category,
                                                  DictNode.code == code))
    if node is None:
        raise NodeNotFound()
    path, cursor, seen = [], node, {node.code}
    while cursor.parent_code is not None:
        cursor = reader().scalar(select(DictNode).where(
            DictNode.category == category, DictNode.code == cursor.parent_code))
        if cursor is None or cursor.code in seen:
            break
        seen.add(cursor.code)
        path.append(cursor)
    answer = _node_dicts([node])[0]
    answer["path"] = [{"code": item.code, "name": item.name} for item in reversed(path)]
    answer["full_name"] = " ".join([*(item.name for item in reversed(path)), node.name])
    return answer


def search(*, q: str, category: str | None = None, include_inactive=False, page: int = 1,
           page_size: int = 20) -> dict:
    """Nodes whose code starts with `q` or whose name contains it; exact codes first."""
    if category is not None:
        _check_category(category)
    q = q.strip()
    statement = select(DictNode).where(or_(DictNode.code.startswith(q, autoescape=True),
                                           DictNode.name.contains(q, autoescape=True)))
    if category is not None:
        statement = statement.where(DictNode.category == category)
    if not include_inactive:
        statement = statement.where(DictNode.is_active.is_(True))
    exact = (DictNode.code != q)  # False (0) sorts first
    statement = statement.order_by(exact, DictNode.category, DictNode.code)
    result = paginate(statement, page, page_size)
    return {**result, "items": _node_dicts(result["items"])}


def region_names(codes) -> dict[str, str]:
    """code -> name of the regions among `codes` (one query); unknown codes are left out."""
    codes = sorted({code for code in codes if code})
    if not codes:
        return {}
    return dict(reader().execute(select(DictNode.code, DictNode.name).where(
        DictNode.category == "region", DictNode.code.in_(codes))).all())


# ---- admin edits -----------------------------------------------------------------------------

def _node(category: str, code: str, *, lock=False) -> DictNode:
    _check_category(category)
    statement = select(DictNode).where(DictNode.category == category, DictNode.code == code)
    node = db.session.scalar(statement.with_for_update() if lock else statement)
    if node is None:
        raise NodeNotFound()
    return node


def create_node(actor, *, category: str, code: str, name: str, parent_code: str | None = None,
                sort_order: int = 0, is_active: bool = True) -> dict:
    require_role(actor, "admin")
    _check_category(category)
    nodes = _category_rows(category)
    if code in nodes:
        raise CodeTaken(details={"code": [CodeTaken.message]})
    row = Row(category, code, name, parent_code, sort_order, is_active)
    nodes[code] = row
    problems = _check_tree(category, nodes, [row])
    if problems:
        _raise_first(problems)
    node = DictNode(category=category, code=code, name=name, parent_code=parent_code,
                    sort_order=sort_order, is_active=is_active)
    db.session.add(node)
    try:
        db.session.commit()
    except IntegrityError:  # created meanwhile by another request
        db.session.rollback()
        raise CodeTaken(details={"code": [CodeTaken.message]})
    log.info("dictionary %s/%s created by staff %s", category, code, actor.id)
    _after_change({category})
    return _node_dicts([node])[0]


_UNSET = object()


def update_node(actor, *, category: str, code: str, name=None, parent_code=_UNSET,
                sort_order=None, is_active=None) -> dict:
    """Rename, reorder, (de)activate or move a node (`parent_code` None: to the top level)."""
    require_role(actor, "admin")
    node = _node(category, code, lock=True)
    if parent_code is not _UNSET and parent_code != node.parent_code:
        nodes = _category_rows(category)
        row = nodes[code]
        row.parent_code = parent_code
        problems = _check_tree(category, nodes, [row])
        if problems:
            db.session.rollback()
            _raise_first(problems)
        node.parent_code = parent_code
    if name is not None:
        node.name = name
    if sort_order is not None:
        node.sort_order = sort_order
    if is_active is not None:
        node.is_active = is_active
    db.session.commit()
    log.info("dictionary %s/%s updated by staff %s", category, code, actor.id)
    _after_change({category})
    return _node_dicts([node])[0]


def staff_list(actor, *, category: str, parent_code: str | None = None, page=1,
               page_size=100) -> dict:
    return list_children(category=category, parent_code=parent_code, include_inactive=True,
                         page=page, page_size=page_size)


# ---- export ------------------------------------------------------------------------------------

def export_rows(category: str | None = None):
    """(分类, 编码, 名称, 上级编码, 排序, 启用) of every node, categories in their fixed order,
    codes ascending within each."""
    order = {key: index for index, key in enumerate(CATEGORIES)}
    statement = select(DictNode.category, DictNode.code, DictNode.name, DictNode.parent_code,
                       DictNode.sort_order, DictNode.is_active)
    if category is not None:
        _check_category(category)
        statement = statement.where(DictNode.category == category)
    rows = reader().execute(statement).all()
    rows.sort(key=lambda r: (order.get(r[0], len(order)), r[1]))
    for cat, code, name, parent, sort, active in rows:
        yield (CATEGORIES.get(cat, cat), code, name, parent or "", sort, "是" if active else "否")


def export_workbook(actor, *, category: str | None = None) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    require_role(actor, "operator")
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(SHEET_TITLE)
    sheet.column_dimensions["A"].width = 12
    sheet.column_dimensions["B"].width = 14
    sheet.column_dimensions["C"].width = 28
    sheet.column_dimensions["D"].width = 14
    header = []
    for title in HEADERS:
        cell = WriteOnlyCell(sheet, value=title)
        cell.font = Font(bold=True)
        header.append(cell)
    sheet.append(header)
    for row in export_rows(category):
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# ---- import: reading a workbook ------------------------------------------------------------------

def _open_workbook(data: bytes):
    """The first sheet of a real .xlsx, or a 4xx: not a zip / not a workbook / inflates too
    far / unreadable."""
    from openpyxl import load_workbook

    if not data.startswith(b"PK\x03\x04"):
        raise ImportNotExcel()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            if "xl/workbook.xml" not in names:
                raise ImportNotExcel()
            if sum(info.file_size for info in archive.infolist()) > MAX_UNZIPPED_BYTES:
                raise ImportTooLarge("文件解压后过大")
    except zipfile.BadZipFile:
        raise ImportCorrupt() from None
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        return workbook, workbook.worksheets[0]
    except Exception:  # openpyxl raises many kinds (KeyError, XML errors...) on broken files
        log.info("unreadable workbook", exc_info=True)
        raise ImportCorrupt() from None


def _cell_text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def _read_rows(sheet, on_progress=None):
    """Yield (row number, values) of the data rows; checks the header first. Blank rows are
    skipped (their numbers still count, as Excel shows them)."""
    rows = sheet.iter_rows(values_only=True)
    try:
        header = next(rows, None)
        header = tuple(_cell_text(v) for v in (header or ()))
        while header and header[-1] is None:
            header = header[:-1]
        if header != HEADERS:
            raise ImportBadColumns(details={"columns": [
                f"表头应依次为: {'、'.join(HEADERS)};实际为: {'、'.join(h or '(空)' for h in header)[:200]}"]})
        for number, values in enumerate(rows, start=2):
            values = tuple(values or ())
            if all(_cell_text(v) is None for v in values):
                continue
            yield number, values
    except AppError:
        raise
    except Exception:
        log.info("workbook rows unreadable", exc_info=True)
        raise ImportCorrupt() from None


def _parse_row(number: int, values: tuple) -> tuple[Row | None, list[dict]]:
    errors = []

    def bad(column, code, message):
        errors.append({"row": number, "column": column, "code": code, "message": message})

    extra = [v for v in values[len(HEADERS):] if _cell_text(v) is not None]
    if extra:
        bad("", "dictionary_import_bad_columns", "表头之外的列有内容")
    cells = [_cell_text(v) for v in (values + (None,) * len(HEADERS))[:len(HEADERS)]]
    category_text, code, name, parent_code, sort_text, active_text = cells
    category = None
    if category_text is None:
        bad("分类", "dictionary_import_required", "分类必填")
    else:
        category = category_text if category_text in CATEGORIES else \
            _CATEGORY_BY_NAME.get(category_text)
        if category is None:
            bad("分类", "dictionary_category_not_found",
                f"未知分类「{category_text[:20]}」,应为: {'、'.join(CATEGORIES.values())}")
    if code is None:
        bad("编码", "dictionary_import_required", "编码必填")
    elif category is not None and not _PATTERNS[category].fullmatch(code):
        bad("编码", InvalidCode.code, f"{CATEGORIES[category]}编码应为{RULES[category][1]}")
    if name is None:
        bad("名称", "dictionary_import_required", "名称必填")
    elif len(name) > NAME_MAX:
        bad("名称", "dictionary_import_name_too_long", f"名称不能超过 {NAME_MAX} 个字")
    sort_order = 0
    if sort_text is not None:
        try:
            sort_order = int(sort_text)
            if not SORT_MIN <= sort_order <= SORT_MAX:
                raise ValueError
        except ValueError:
            bad("排序", "dictionary_import_bad_sort", f"排序应为 {SORT_MIN} 到 {SORT_MAX} 的整数")
    is_active = True
    if active_text is not None:
        if active_text.lower() in _TRUE:
            is_active = True
        elif active_text.lower() in _FALSE:
            is_active = False
        else:
            bad("启用", "dictionary_import_bad_flag", "启用应填「是」或「否」")
    if errors:
        return None, errors
    return Row(category, code, name, parent_code, sort_order, is_active, number), []


def _inspect(data: bytes, filename: str | None) -> int:
    """Checks that need no row by row work: size, kind, header, row count. The data row count."""
    if len(data) > _setting("DICTIONARY_IMPORT_MAX_BYTES", MAX_IMPORT_BYTES):
        raise ImportTooLarge()
    if not data:
        raise ImportFileMissing("文件内容为空")
    workbook, sheet = _open_workbook(data)
    limit = _setting("DICTIONARY_IMPORT_MAX_ROWS", MAX_IMPORT_ROWS)
    count = 0
    try:
        for count, _ in enumerate(_read_rows(sheet), start=1):
            if count > limit:
                raise ImportTooManyRows(f"行数超过 {limit} 行上限,请拆分后分批导入",
                                        details={"max_rows": limit})
    finally:
        workbook.close()
    if count == 0:
        raise ImportEmpty()
    return count


# ---- import: validating and applying -----------------------------------------------------------

def _validate(data: bytes, mode: str, progress=None) -> tuple[list[Row], list[dict]]:
    """Every row of the workbook checked, alone and as a tree (with what the database keeps).
    Returns (rows, errors); nothing is written."""
    workbook, sheet = _open_workbook(data)
    rows, errors, seen = [], [], {}
    try:
        for index, (number, values) in enumerate(_read_rows(sheet), start=1):
            row, row_errors = _parse_row(number, values)
            errors.extend(row_errors)
            if row is not None:
                key = (row.category, row.code)
                if key in seen:
                    errors.append({"row": number, "column": "编码", "code": CodeTaken.code,
                                   "message": f"编码 {row.code} 与第 {seen[key]} 行重复"})
                else:
                    seen[key] = number
                    rows.append(row)
            if progress is not None and index % _setting("DICTIONARY_IMPORT_PROGRESS_EVERY",
                                                        PROGRESS_EVERY) == 0:
                progress(index)
    finally:
        workbook.close()
    by_category: dict[str, list[Row]] = {}
    for row in rows:
        by_category.setdefault(row.category, []).append(row)
    for category, changed in by_category.items():
        nodes = {} if mode == "replace" else _category_rows(category)
        nodes.update({row.code: row for row in changed})
        for row, field, code, message in _check_tree(category, nodes, changed):
            errors.append({"row": row.row, "column": "上级编码" if field == "parent_code" else "编码",
                           "code": code, "message": message})
    errors.sort(key=lambda e: (e["row"], e["column"]))
    return rows, errors


# a Core executemany (not the ORM's bulk update by primary key), so the audit log's listener
# gets a result that carries the row count
_UPDATE_BY_ID = (DictNode.__table__.update()
                 .where(DictNode.__table__.c.id == bindparam("node_id"))
                 .values(name=bindparam("name"), parent_code=bindparam("parent_code"),
                         sort_order=bindparam("sort_order"), is_active=bindparam("is_active"),
                         updated_at=bindparam("updated_at")))


def _apply(rows: list[Row], mode: str) -> dict:
    """Write the rows (no commit): new codes inserted, changed ones updated; in replace mode the
    categories in the workbook lose the codes it does not list."""
    counts = {"created": 0, "updated": 0, "deleted": 0}
    now = utcnow()
    by_category: dict[str, list[Row]] = {}
    for row in rows:
        by_category.setdefault(row.category, []).append(row)
    for category, changed in by_category.items():
        existing = {code: (node_id, name, parent, sort, bool(active))
                    for node_id, code, name, parent, sort, active in db.session.execute(
                        select(DictNode.id, DictNode.code, DictNode.name, DictNode.parent_code,
                               DictNode.sort_order, DictNode.is_active)
                        .where(DictNode.category == category).with_for_update())}
        inserts, updates = [], []
        for row in changed:
            values = (row.name, row.parent_code, row.sort_order, row.is_active)
            if row.code not in existing:
                inserts.append({"category": category, "code": row.code, "name": row.name,
                                "parent_code": row.parent_code, "sort_order": row.sort_order,
                                "is_active": row.is_active, "created_at": now, "updated_at": now})
            elif existing[row.code][1:] != values:
                updates.append({"node_id": existing[row.code][0], "name": row.name,
                                "parent_code": row.parent_code, "sort_order": row.sort_order,
                                "is_active": row.is_active, "updated_at": now})
        if mode == "replace":
            keep = {row.code for row in changed}
            gone = [value[0] for code, value in existing.items() if code not in keep]
            for start in range(0, len(gone), 1000):
                db.session.execute(delete(DictNode).where(
                    DictNode.id.in_(gone[start:start + 1000])))
            counts["deleted"] += len(gone)
        for start in range(0, len(updates), 1000):
            db.session.execute(_UPDATE_BY_ID, updates[start:start + 1000])
        for start in range(0, len(inserts), 1000):
            db.session.execute(insert(DictNode), inserts[start:start + 1000])
        counts["created"] += len(inserts)
        counts["updated"] += len(updates)
    return counts


def _report(errors: list[dict]) -> list[dict]:
    return errors[:MAX_REPORTED_ERRORS]


def start_import(actor, *, upload, mode: str = "upsert") -> tuple[dict, int]:
    """Check the workbook's kind, header and size; import it now when it is small (201, or 422
    with the error report and nothing changed), else queue a job (202) whose progress
    get_import shows."""
    from app.tasks.dictionary import run_dictionary_import

    require_role(actor, "admin")
    if mode not in IMPORT_MODES:
        raise ValidationFailed.for_field("mode", "导入方式应为 upsert 或 replace")
    if upload is None:
        raise ImportFileMissing()
    limit = _setting("DICTIONARY_IMPORT_MAX_BYTES", MAX_IMPORT_BYTES)
    data = upload.stream.read(limit + 1)
    total = _inspect(data, upload.filename)
    filename = (upload.filename or "")[:128] or None
    record = DictImport(status="queued", mode=mode, filename=filename, size_bytes=len(data),
                        total_rows=total, processed_rows=0, created_count=0, updated_count=0,
                        deleted_count=0, error_count=0, created_by_staff_id=actor.id)
    if total <= _setting("DICTIONARY_IMPORT_INLINE_ROWS", INLINE_ROWS):
        rows, errors = _validate(data, mode)
        if errors:
            raise ImportInvalid(details={"error_count": len(errors), "total_rows": total,
                                         "errors": _report(errors)})
        record.start_validating()
        record.processed_rows = total
        record.start_applying()
        counts = _apply(rows, mode)
        _finish(record, counts)
        db.session.add(record)
        _commit_import(record)
        _after_change({row.category for row in rows})
        return import_dict(record), 201
    key = f"dictionary-imports/{uuid.uuid4().hex}.xlsx"
    storage().save(key, data)
    record.storage_key = key
    db.session.add(record)
    db.session.flush()
    jobs.enqueue_after_commit(db.session, run_dictionary_import, record.id)
    try:
        db.session.commit()
    except Exception:
        storage().delete(key)
        raise
    return import_dict(record), 202


def _finish(record: DictImport, counts: dict):
    record.created_count = counts["created"]
    record.updated_count = counts["updated"]
    record.deleted_count = counts["deleted"]
    record.succeed(utcnow())


def _commit_import(record: DictImport):
    try:
        db.session.commit()
    except IntegrityError:  # another import or edit wrote the same codes meanwhile
        db.session.rollback()
        raise Conflict("字典正被其他操作修改,请重试", code="dictionary_busy")


def run_import(import_id: int) -> str | None:
    """The job: validate every row (progress committed every PROGRESS_EVERY rows), then write
    all of them with the final status in one commit, or record the error report and write
    nothing. Idempotent: a finished import is left alone."""
    record = db.session.get(DictImport, import_id, with_for_update=True, populate_existing=True)
    if record is None or record.status in ("succeeded", "failed"):
        db.session.rollback()
        return None
    if record.status != "queued":  # a worker died under it: start over from the file
        record.status = "queued"
    record.start_validating()
    record.processed_rows = 0
    db.session.commit()
    try:
        data = storage().read(record.storage_key)
    except OSError:
        return _fail(import_id, [{"row": 0, "column": "", "code": "dictionary_import_file_lost",
                                  "message": "上传的文件已丢失,请重新上传"}])

    def progress(count):
        db.session.execute(update(DictImport).where(DictImport.id == import_id).values(
            processed_rows=count, updated_at=utcnow()))
        db.session.commit()

    try:
        rows, errors = _validate(data, record.mode, progress)
    except AppError as exc:
        return _fail(import_id, [{"row": 0, "column": "", "code": exc.code,
                                  "message": exc.message}])
    if errors:
        return _fail(import_id, errors)
    record = db.session.get(DictImport, import_id, with_for_update=True, populate_existing=True)
    record.processed_rows = record.total_rows
    record.start_applying()
    counts = _apply(rows, record.mode)
    _finish(record, counts)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return _fail(import_id, [{"row": 0, "column": "", "code": "dictionary_busy",
                                  "message": "字典正被其他操作修改,请重新导入"}])
    storage().delete(record.storage_key)
    _after_change({row.category for row in rows})
    log.info("dictionary import %s: %s", import_id, counts)
    return "succeeded"


def _fail(import_id: int, errors: list[dict]) -> str:
    db.session.rollback()
    record = db.session.get(DictImport, import_id, with_for_update=True, populate_existing=True)
    record.error_count = len(errors)
    record.errors = json.dumps(_report(errors), ensure_ascii=False)
    record.fail(utcnow())
    db.session.commit()
    if record.storage_key:
        storage().delete(record.storage_key)
    return "failed"


def import_dict(record: DictImport) -> dict:
    return {"id": record.id, "status": record.status, "mode": record.mode,
            "filename": record.filename, "size_bytes": record.size_bytes,
            "total_rows": record.total_rows, "processed_rows": record.processed_rows,
            "created_count": record.created_count, "updated_count": record.updated_count,
            "deleted_count": record.deleted_count, "error_count": record.error_count,
            "errors": json.loads(record.errors) if record.errors else [],
            "created_by_staff_id": record.created_by_staff_id,
            "created_at": record.created_at, "finished_at": record.finished_at}


def get_import(actor, *, import_id: int) -> dict:
    require_role(actor, "operator")
    record = db.session.get(DictImport, import_id)
    if record is None:
        raise ImportNotFound()
    return import_dict(record)


def list_imports(actor, *, page: int = 1, page_size: int = 20) -> dict:
    require_role(actor, "operator")
    result = paginate(select(DictImport).order_by(DictImport.id.desc()), page, page_size)
    return {**result, "items": [import_dict(record) for record in result["items"]]}
