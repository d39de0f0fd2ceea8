"""Every Excel / CSV read and write of the platform, in one package.

- :mod:`app.excel.reader` streams rows from .xlsx (openpyxl read-only mode) and
  .csv (UTF-8 or GBK, detected), refusing non-Excel files with a clear reason;
  it holds the imports' one cell reader (``cell_text``) and one size rule (``check_size``).
- :mod:`app.excel.writer` writes cells that can never turn into formulas,
  import templates (header row, instructions sheet, dropdowns, text-formatted
  code columns) and error logs (the template's columns plus 错误原因).
"""
from app.excel.reader import (  # noqa: F401
    CorruptFile,
    ExcelError,
    FileSizeRefused,
    NotATable,
    Sheet,
    TableFile,
    cell_text,
    check_size,
    csv_width,
    detect_csv_encoding,
    human_size,
    open_table,
    stated_rows,
)
from app.excel.writer import (  # noqa: F401
    Column,
    ErrorSheet,
    TemplateSheet,
    build_error_log,
    build_error_logs,
    build_template,
    is_formula_like,
    safe_cell,
    XLSX_MIMETYPE,
)
