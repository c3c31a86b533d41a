"""Receiving one upload: the multipart body parsed as it streams (never held whole in memory), the file
stored durably, checked in the pool, compared with the link's agency and year, and recorded."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from toolkit.serve.checks import check_upload
from toolkit.serve.records import ServiceError, earlier_result, record_upload
from toolkit.serve.store import Incoming, TooLarge

FIELD = "file"
SLACK = 64 * 1024  # multipart headers and small fields besides the file


class _Parts:
    """Callbacks for MultipartParser: the part named `file` goes into an Incoming, the rest is dropped."""

    def __init__(self, open_file):
        self.open_file = open_file
        self.incoming: Incoming | None = None
        self.filename = ""
        self._field, self._value, self._headers = b"", b"", {}
        self._taking = False

    def callbacks(self) -> dict:
        return {
            "on_part_begin": self._begin,
            "on_header_field": lambda data, start, end: self._add("_field", data[start:end]),
            "on_header_value": lambda data, start, end: self._add("_value", data[start:end]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._data,
            "on_part_end": self._end,
        }

    def _add(self, name: str, data: bytes) -> None:
        setattr(self, name, getattr(self, name) + data)

    def _begin(self) -> None:
        self._headers, self._taking = {}, False

    def _header_end(self) -> None:
        self._headers[self._field.lower()] = self._value
        self._field, self._value = b"", b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        if options.get(b"name") == FIELD.encode() and self.incoming is None:
            self.filename = options.get(b"filename", b"").decode("utf-8", "replace").replace("\\", "/").rsplit("/", 1)[-1]
            self.incoming = self.open_file()
            self._taking = True

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self._taking:
            self.incoming.write(data[start:end])

    def _end(self) -> None:
        self._taking = False


async def receive(request: Request, open_file, limit: int) -> tuple[Incoming, str]:
    """The `file` field streamed into the store's temporary folder; TooLarge past `limit` bytes."""
    kind, options = parse_options_header(request.headers.get("content-type", ""))
    if kind != b"multipart/form-data" or b"boundary" not in options:
        raise ServiceError("请以 multipart/form-data 上传，文件放在 file 字段中", 400)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + SLACK:
        raise TooLarge
    parts = _Parts(open_file)
    parser = MultipartParser(options[b"boundary"], parts.callbacks())
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit + SLACK:
                raise TooLarge
            parser.write(chunk)
        parser.finalize()
    except BaseException:
        if parts.incoming is not None:
            parts.incoming.discard()
        raise
    if parts.incoming is None:
        raise ServiceError("没有收到文件：请把文件放在 file 字段中上传", 400)
    return parts.incoming, parts.filename


def refusal_of(agency: Mapping[str, Any], result: Mapping[str, Any]) -> str | None:
    """Why a readable file is not this link's return (another agency's, another year's, a collection), or None."""
    if result["status"] == "unreadable":
        return None
    if result.get("collection"):
        return "这是汇总文件，不是本机关的填报表格；请上传本机关填好的模板"
    if result.get("form_id") and result["form_id"] != agency["form_id"]:
        return f"此文件的表式为“{result['form_id']}”，本次收集使用“{agency['form_id']}”；请下载本页的模板重新填报"
    if result["agency"] and result["agency"] != agency["name"]:
        return f"此文件是“{result['agency']}”的填报表格，不是本机关（{agency['name']}）的；请上传本机关的模板填写的文件"
    if result["year"] is not None and result["year"] != agency["year"]:
        return f"此文件是 {result['year']} 年度的，本次收集的是 {agency['year']} 年度；请下载本页的模板重新填报"
    return None


async def accept(service, agency: Mapping[str, Any], incoming: Incoming, filename: str) -> dict[str, Any]:
    """Store, check and record one upload; the answer of `POST /a/<token>/uploads`."""

    def stored():  # durable first; then an identical earlier upload's result, if any (one hop to a thread)
        sha, _known = incoming.commit()
        with service.engine.connect() as conn:
            return sha, earlier_result(conn, agency["id"], sha)

    sha, result = await run_in_threadpool(stored)
    path = str(service.store.path(sha))
    if result is None:
        result = await service.run(check_upload, path)
        result["refusal"] = refusal_of(agency, result)

    def record(conn):
        return record_upload(conn, agency, sha, incoming.size, filename or "未命名.xlsx", result)

    upload_id, duplicate_of = await service.write(record)
    answer = {"upload_id": upload_id, "sha256": sha, "status": result["status"], "problems": result["problems"]}
    if duplicate_of:
        answer["duplicate_of"] = duplicate_of
    if result.get("refusal"):
        answer["refused"] = result["refusal"]
    return answer
