#!/usr/bin/env python3
"""Integration API example (README, API): two enterprise systems calling /api/v1 with requests.

* A manufacturer's ERP creates packaging rows (产品包装) from a CSV file and submits them
  for review in one batch::

      python docs/api-example.py manufacturer --base-url https://platform.example --key sst_… \\
          --csv packaging.csv

  The CSV has a header row: code,min_unit,pack_unit,pack_ratio,mid_unit,mid_ratio
  (27-character code, units from the platform's dictionary, ratios as integers; the two
  中包装 columns may be empty).  Every row is sent with an ``Idempotency-Key`` made from its
  content, so running the script again after a network error never creates a row twice.

* A hospital's system pages through 耗材产品查询 (effective products of every manufacturer)::

      python docs/api-example.py hospital --base-url https://platform.example --key sst_… \\
          [--code C0901…] [--name 导管]

Keys come from the platform's 我的API密钥 page.  The script prints one JSON line per result.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
import time
from typing import Iterator

import requests

COLUMNS = ("code", "min_unit", "pack_unit", "pack_ratio", "mid_unit", "mid_ratio")


class Api:
    """A thin client: the key in every request, JSON in and out, 429 answered by waiting."""

    def __init__(self, base_url: str, key: str, timeout: float = 30.0):
        self.base = base_url.rstrip("/") + "/api/v1"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {key}"
        self.timeout = timeout

    def call(self, method: str, path: str, *, idempotency_key: str | None = None, **kwargs) -> requests.Response:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        for attempt in range(5):
            resp = self.session.request(method, self.base + path, headers=headers, timeout=self.timeout, **kwargs)
            if resp.status_code != 429:
                return resp
            time.sleep(float(resp.headers.get("Retry-After") or 2 ** attempt))
        return resp


def read_rows(path: str) -> Iterator[dict]:
    with open(path, newline="", encoding="utf-8-sig") as f:
        for row in csv.DictReader(f):
            data = {k: (row.get(k) or "").strip() for k in COLUMNS}
            body = {"code": data["code"], "min_unit": data["min_unit"], "pack_unit": data["pack_unit"],
                    "pack_ratio": int(data["pack_ratio"]) if data["pack_ratio"].isdigit() else data["pack_ratio"]}
            if data["mid_unit"] or data["mid_ratio"]:
                body["mid_unit"] = data["mid_unit"]
                body["mid_ratio"] = int(data["mid_ratio"]) if data["mid_ratio"].isdigit() else data["mid_ratio"]
            yield body


def row_key(body: dict) -> str:
    """The same row always carries the same Idempotency-Key (a retry never duplicates it)."""
    return "csv-" + hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:40]


def manufacturer(api: Api, csv_path: str) -> dict:
    """Create every CSV row as a packaging draft, then 批量提交 the created ones in one call."""
    created, refused = [], []
    for line, body in enumerate(read_rows(csv_path), start=2):
        resp = api.call("POST", "/products/", json=body, idempotency_key=row_key(body))
        if resp.status_code == 201:
            created.append(resp.json()["id"])
        else:
            answer = resp.json()
            refused.append({"line": line, "code": body["code"], "message": answer.get("message"),
                            "errors": answer.get("errors", {})})
    result = {"created": created, "refused": refused, "submitted": [], "not_submitted": []}
    if created:
        batch_key = "batch-" + hashlib.sha256(",".join(map(str, sorted(created))).encode()).hexdigest()[:40]
        resp = api.call("POST", "/products/batch-submit", json={"ids": created}, idempotency_key=batch_key)
        resp.raise_for_status()
        result["submitted"] = resp.json()["ok"]
        result["not_submitted"] = resp.json()["failed"]
    return result


def hospital(api: Api, limit: int = 100, **filters: str) -> Iterator[dict]:
    """Every row of 耗材产品查询, page after page (keyset: ``after`` = the previous ``next_after``)."""
    params: dict = {"limit": limit, **{k: v for k, v in filters.items() if v}}
    while True:
        resp = api.call("GET", "/product-query/", params=params)
        resp.raise_for_status()
        page = resp.json()
        yield from page["items"]
        if page["next_after"] is None:
            return
        params["after"] = page["next_after"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("role", choices=("manufacturer", "hospital"))
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--key", required=True, help="an API key (sst_…) from 我的API密钥")
    parser.add_argument("--csv", help="manufacturer: the packaging rows")
    parser.add_argument("--code", default="", help="hospital: 27-character code or prefix")
    parser.add_argument("--name", default="", help="hospital: single item name contains")
    parser.add_argument("--limit", type=int, default=100, help="hospital: rows per page (1-200)")
    args = parser.parse_args(argv)
    api = Api(args.base_url, args.key)
    if args.role == "manufacturer":
        if not args.csv:
            parser.error("--csv is required for manufacturer")
        print(json.dumps(manufacturer(api, args.csv), ensure_ascii=False))
        return 0
    count = 0
    for row in hospital(api, limit=args.limit, code=args.code, name=args.name):
        print(json.dumps(row, ensure_ascii=False))
        count += 1
    print(json.dumps({"rows": count}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
