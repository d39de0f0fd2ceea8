"""Streaming reader for .xlsx and .csv uploads.

Nothing here holds a whole file in memory: .xlsx sheets are read through
openpyxl's read-only mode (rows parsed on demand from the zip), and .csv files
through a text wrapper over the binary stream.  The CSV encoding is detected
by one pass of an incremental UTF-8 decoder (no memory); a file that is not
valid UTF-8 is read as GB18030, the superset of GBK that Excel on Chinese
Windows writes.
"""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import os
import zipfile
from dataclasses import dataclass
from typing import IO, Any, Callable, Iterator
from xml.etree.ElementTree import ParseError

from app.i18n import Msg, N_
from app.errors import DomainError

XLSX_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls / .doc
CSV_SNIFF_BYTES = 64 * 1024
# Cap on cells per row: a malicious sheet claiming 16,384 columns stays cheap.
MAX_COLUMNS = 200


class ExcelError(DomainError):
    """A file-level problem: the file is refused as a whole."""


class NotATable(ExcelError):
    """Not an .xlsx or .csv file (wrong extension, renamed file, legacy .xls)."""


class CorruptFile(ExcelError):
    """Opened, but broken inside (truncated zip, bad XML, undecodable text)."""


class TooManyRows(ExcelError):
    """More rows than a web upload may carry (``IMPORT_MAX_ROWS``): refused whole."""


class FileSizeRefused(ExcelError):
    """An empty file, or one larger than its import allows (:func:`check_size`)."""


# -- the one cell reader and the one size rule of every import ------------------------
def cell_text(value: Any) -> str:
    """A cell as the imports read it: trimmed text (the ideographic space too); whole numbers
    without ``.0``, dates as ISO, booleans as 是 / 否."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.replace("\u3000", " ").strip()
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def size_of(source: "str | os.PathLike | IO[bytes]") -> int:
    """Bytes in a path or a seekable stream (the stream's position is kept)."""
    if isinstance(source, (str, os.PathLike)):
        return os.path.getsize(source)
    pos = source.tell()
    source.seek(0, os.SEEK_END)
    size = source.tell()
    source.seek(pos)
    return size


def human_size(n: int) -> str:
    return f"{n / 1024 / 1024:.0f}MB" if n >= 1024 * 1024 else f"{max(n // 1024, 1)}KB"


def check_size(source: "str | os.PathLike | IO[bytes]", limit: int | None, name: str | None = None) -> int:
    """The size rule of every import (packaging, national data): refuse an empty file and one
    over ``limit`` bytes (None or 0: no cap), naming the file when ``name`` is given; the size."""
    size = size_of(source)
    if size == 0:
        raise FileSizeRefused(Msg("%(name)s：文件为空，请选择填写好的导入文件", name=name) if name
                              else N_("文件为空，请选择填写好的导入文件"))
    if limit and size > limit:
        if name:
            raise FileSizeRefused(Msg("%(name)s：文件过大（%(size)s），导入文件不能超过%(limit)s，请分批导入",
                                      name=name, size=human_size(size), limit=human_size(limit)))
        raise FileSizeRefused(Msg("文件过大（%(size)s），导入文件不能超过%(limit)s，请分批导入",
                                  size=human_size(size), limit=human_size(limit)))
    return size


def web_limits() -> tuple[int | None, int | None]:
    """(rows per sheet, unzipped bytes) for uploads through a web request, else (None, None).

    Web workers must never spend long on one file (issue 11 §1); the CLI and background
    jobs read whole national releases without these caps.
    """
    from flask import current_app, has_request_context

    if not has_request_context():
        return None, None
    config = current_app.config
    return config.get("IMPORT_MAX_ROWS"), config.get("IMPORT_MAX_UNZIPPED_BYTES")


Row = tuple[Any, ...]


@dataclass
class Sheet:
    name: str
    _rows: Callable[[], Iterator[tuple[int, Row]]]
    max_rows: int | None = None
    # a .csv sheet's (binary stream, Python encoding, delimiter): a bulk loader may hand
    # the bytes to the database itself (PostgreSQL's COPY) instead of parsing them here
    csv_source: tuple[IO[bytes], str, str] | None = None

    def iter_rows(self) -> Iterator[tuple[int, Row]]:
        """(1-based row number as Excel shows it, cell values) for every row the file holds.

        Rows absent from an .xlsx are not produced (their numbers are skipped), whatever
        dimension the sheet claims; at most :data:`MAX_COLUMNS` cells per row.  With
        ``max_rows`` (web uploads) the file is refused once it holds more rows than that.
        """
        try:
            for count, (number, row) in enumerate(self._rows(), start=1):
                if self.max_rows is not None and count > self.max_rows:
                    raise TooManyRows(Msg("文件行数超过上限（每个工作表最多%(n)s行），请分批导入", n=self.max_rows))
                yield number, tuple(row[:MAX_COLUMNS])
        except ExcelError:
            raise
        except (zipfile.BadZipFile, ParseError, KeyError, EOFError, OSError, ValueError, TypeError) as exc:
            raise CorruptFile("文件已损坏，无法读取（工作表“%s”）" % self.name) from exc


class TableFile:
    """An opened .xlsx / .csv: ``sheets`` in file order; use as a context manager."""

    def __init__(self, kind: str, sheets: list[Sheet], closer: Callable[[], None] | None = None):
        self.kind = kind  # "xlsx" | "csv"
        self.sheets = sheets
        self.encoding: str | None = None
        self._closer = closer

    def close(self) -> None:
        if self._closer:
            self._closer()
            self._closer = None

    def __enter__(self) -> "TableFile":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _extension(filename: str) -> str:
    return os.path.splitext(filename or "")[1].lower()


def open_table(source: str | os.PathLike | IO[bytes], filename: str | None = None) -> TableFile:
    """Open ``source`` (a path or a seekable binary stream) by its name and its bytes.

    Raises :class:`NotATable` or :class:`CorruptFile` with a message for the user.
    """
    if isinstance(source, (str, os.PathLike)):
        filename = filename or os.fspath(source)
        stream: IO[bytes] = open(source, "rb")  # noqa: SIM115 (closed by TableFile)
        owned = True
    else:
        stream, owned = source, False
    try:
        table = _open_stream(stream, filename or "")
    except BaseException:
        if owned:
            stream.close()
        raise
    if owned:
        inner = table._closer

        def closer():
            if inner:
                inner()
            stream.close()

        table._closer = closer
    return table


def _open_stream(stream: IO[bytes], filename: str) -> TableFile:
    ext = _extension(filename)
    stream.seek(0)
    head = stream.read(8)
    stream.seek(0)
    if ext == ".csv":
        if head.startswith(XLSX_MAGIC) or head.startswith(OLE_MAGIC):
            raise NotATable(N_("文件扩展名为 .csv，但内容是Excel工作簿，请另存为CSV或将扩展名改为 .xlsx"))
        return _open_csv(stream, filename)
    if ext in (".xlsx", ".xlsm"):
        if head.startswith(OLE_MAGIC):
            raise NotATable(N_("不支持旧版Excel（.xls）格式，请在Excel中另存为 .xlsx 后再导入"))
        if not head.startswith(XLSX_MAGIC):
            raise NotATable(N_("文件不是有效的Excel（.xlsx）文件，请确认文件未损坏且不是改了扩展名的其他文件"))
        return _open_xlsx(stream)
    if ext == ".xls":
        raise NotATable(N_("不支持旧版Excel（.xls）格式，请在Excel中另存为 .xlsx 后再导入"))
    raise NotATable(N_("仅支持 .xlsx 或 .csv 文件"))


def _check_unzipped_size(stream: IO[bytes], limit: int | None) -> None:
    """Refuse a zip whose members unpack to more than ``limit`` bytes (a "zip bomb").

    Python's zipfile never yields more than a member's declared size, so the declared
    sizes bound the work."""
    if not limit:
        return
    try:
        with zipfile.ZipFile(stream) as archive:
            total = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise NotATable(N_("文件不是有效的Excel（.xlsx）文件，请确认文件未损坏且不是改了扩展名的其他文件")) from exc
    finally:
        stream.seek(0)
    if total > limit:
        raise TooManyRows(Msg("文件解压后超过%(mb)sMB，请分批导入", mb=limit // (1024 * 1024)))


def _xlsx_rows(ws) -> Iterator[tuple[int, Row]]:
    """(row number, values) straight from the sheet's XML: openpyxl's own iter_rows pads
    every row to the sheet's claimed dimension (``A1:XFD1048576`` makes each row 16,384
    cells and fills every gap with empty rows)."""
    from openpyxl.worksheet._reader import WorkSheetParser

    book = ws.parent
    with ws._get_source() as src:
        parser = WorkSheetParser(src, ws._shared_strings, data_only=book.data_only, epoch=book.epoch,
                                 date_formats=book._date_formats, timedelta_formats=book._timedelta_formats)
        for number, cells in parser.parse():
            width = 0
            for cell in cells:
                if cell["column"] <= MAX_COLUMNS and cell["column"] > width:
                    width = cell["column"]
            values: list[Any] = [None] * width
            for cell in cells:
                column = cell["column"]
                if column <= width:
                    values[column - 1] = cell["value"]
            yield number, tuple(values)


def _open_xlsx(stream: IO[bytes]) -> TableFile:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    max_rows, max_unzipped = web_limits()
    _check_unzipped_size(stream, max_unzipped)
    try:
        workbook = load_workbook(stream, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ParseError, OSError, ValueError,
            TypeError, EOFError) as exc:
        raise NotATable(N_("文件不是有效的Excel（.xlsx）文件，请确认文件未损坏且不是改了扩展名的其他文件")) from exc

    sheets = []
    for ws in workbook.worksheets:
        if not hasattr(ws, "_get_source"):  # a chartsheet holds no cells
            continue
        sheets.append(Sheet(ws.title, (lambda ws=ws: _xlsx_rows(ws)), max_rows))
    return TableFile("xlsx", sheets, workbook.close)


def detect_csv_encoding(stream: IO[bytes]) -> str:
    """``utf-8-sig`` when every byte decodes as UTF-8 (BOM or not), else ``gb18030`` (GBK)."""
    stream.seek(0)
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        while True:
            chunk = stream.read(CSV_SNIFF_BYTES)
            if not chunk:
                decoder.decode(b"", final=True)
                break
            decoder.decode(chunk)
        encoding = "utf-8-sig"
    except UnicodeDecodeError:
        encoding = "gb18030"
        stream.seek(0)
        gbk = codecs.getincrementaldecoder("gb18030")()
        try:
            while True:
                chunk = stream.read(CSV_SNIFF_BYTES)
                if not chunk:
                    gbk.decode(b"", final=True)
                    break
                gbk.decode(chunk)
        except UnicodeDecodeError as exc:
            raise CorruptFile(N_("无法识别CSV文件的编码，请保存为 UTF-8 或 GBK 编码")) from exc
    stream.seek(0)
    return encoding


def _open_csv(stream: IO[bytes], filename: str) -> TableFile:
    encoding = detect_csv_encoding(stream)
    sample = stream.read(CSV_SNIFF_BYTES).decode(encoding, errors="ignore")
    stream.seek(0)
    if "\x00" in sample:
        raise NotATable(N_("文件不是有效的CSV文本文件"))
    first = sample.splitlines()[0] if sample else ""
    delimiter = "\t" if "\t" in first and "," not in first else ","

    def rows():
        stream.seek(0)
        text = io.TextIOWrapper(stream, encoding=encoding, newline="")
        try:
            yield from enumerate(csv.reader(text, delimiter=delimiter), start=1)
        except csv.Error as exc:
            raise CorruptFile("CSV文件格式错误：%s" % exc) from exc
        finally:
            text.detach()  # leave the caller's stream open

    name = os.path.splitext(os.path.basename(filename))[0] or "CSV"
    table = TableFile("csv", [Sheet(name, rows, web_limits()[0], (stream, encoding, delimiter))])
    table.encoding = "GBK" if encoding == "gb18030" else "UTF-8"
    return table


def csv_width(stream: IO[bytes], encoding: str, delimiter: str) -> int:
    """The number of fields in a CSV file's first record (what a bulk COPY expects of every row);
    the stream is left open, at its start."""
    stream.seek(0)
    wrapper = io.TextIOWrapper(stream, encoding=encoding, newline="")
    try:
        first = next(csv.reader(wrapper, delimiter=delimiter), [])
    except (csv.Error, UnicodeDecodeError):
        first = []
    finally:
        wrapper.detach()
        stream.seek(0)
    return len(first)


def stated_rows(path: str | os.PathLike, skip: Callable[[str], bool] = lambda title: False) -> int | None:
    """Data rows a file says it holds, for a progress bar's ETA, without reading it: a .csv's lines
    less its header, an .xlsx's sheets' stated dimensions (sheets ``skip(title)`` left out).
    None when the file cannot tell (broken, not a table): the import itself reports why."""
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        if _extension(os.fspath(path)) == ".csv":
            with open(path, "rb") as fh:
                return max(sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b"")) - 1, 0)
        workbook = load_workbook(path, read_only=True)
        try:
            return sum(max((ws.max_row or 1) - 1, 0) for ws in workbook.worksheets if not skip(ws.title))
        finally:
            workbook.close()
    except (OSError, zipfile.BadZipFile, InvalidFileException, KeyError, ParseError, ValueError, TypeError,
            EOFError):
        return None

