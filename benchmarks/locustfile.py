"""Locust users for `make soak` (issue 11 §10): log in, browse lists, search 耗材产品查询,
save and submit packaging, review it.  Demo accounts come from `flask seed-demo`."""
from __future__ import annotations

import os
import random
import re

from locust import HttpUser, between, constant, task

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
THINK = float(os.environ.get("SOAK_THINK", "1"))
wait = between(THINK / 2, THINK * 1.5) if THINK > 0 else constant(0)


def csrf(html: str) -> str:
    m = CSRF.search(html)
    return m.group(1) if m else ""


class Base(HttpUser):
    abstract = True
    wait_time = wait
    username = password = ""

    def on_start(self):
        token = csrf(self.client.get("/login/", name="GET /login/").text)
        self.client.post("/login/", data={"csrf_token": token, "username": self.username, "password": self.password},
                         name="POST /login/")


class Hospital(Base):
    """Hospitals and distributors: 耗材产品查询 (the hot read path) and the hall."""
    weight = 5
    username, password = "gzyy2024", "Demo12345"

    @task(6)
    def product_query(self):
        term = random.choice(["C09", "C0901", "导管", "广东示范", "国械注准", ""])
        self.client.get("/procurement/product-query/list/", params={"q": term} if term else None,
                        name="GET 耗材产品查询")

    @task(2)
    def hall(self):
        self.client.get("/hall/", name="GET 单位网厅")

    @task(1)
    def bare(self):
        self.client.get("/static/js/app.js", name="GET 静态文件（基准）")

    @task(1)
    def certificate_query(self):
        self.client.get("/procurement/certificate-query/", name="GET 注册证查询")


class Maker(Base):
    """The manufacturer: lists, and 新增包装 saved and submitted (writes)."""
    weight = 3
    username, password = "gdqx2024", "Demo12345"
    items: list[str] = []

    def on_start(self):
        super().on_start()
        html = self.client.get("/procurement/items/list/", name="GET 耗材单件列表").text
        self.items = re.findall(r'/procurement/items/products/(\d+)', html)

    @task(3)
    def lists(self):
        self.client.get(random.choice(["/procurement/products/list/", "/procurement/certificates/list/",
                                       "/procurement/entrustments/list/"]), name="GET 资质列表")

    @task(2)
    def add_packaging(self):
        if not self.items:
            return
        pk = random.choice(self.items)
        page = self.client.get(f"/procurement/items/products/{pk}", name="GET 维护产品信息").text
        codes = sorted(set(re.findall(r'value="(C\d{26})"', page)))
        if not codes:
            return
        self.client.post(f"/procurement/items/products/{pk}", name="POST 新增包装", data={
            "csrf_token": csrf(page), "code": random.choice(codes), "min_unit": "支", "pack_unit": "盒",
            "pack_ratio": str(random.randint(2, 10**6)), "mid_unit": "", "mid_ratio": "",
            "action": random.choice(["save", "submit"])})


class Reviewer(Base):
    """初审: the product queue, approving the oldest record."""
    weight = 1
    username, password = "chushen", "Review12345"

    @task
    def review(self):
        queue = self.client.get("/review/product/initial/", name="GET 产品待初审").text
        ids = re.findall(r'/review/product/record/(\d+)"', queue)
        if not ids:
            return
        pk = ids[0]
        page = self.client.get(f"/review/product/record/{pk}", name="GET 审核详情").text
        version = re.search(r'name="version" value="(\d+)"', page)
        if version:
            self.client.post(f"/review/product/record/{pk}/decide", name="POST 审核通过", data={
                "csrf_token": csrf(page), "action": "approve", "version": version.group(1), "opinion": "通过"})
