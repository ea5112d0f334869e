#!/usr/bin/env python3
"""A small in-memory Azure Blob service for Strata's Azure bucket tests.

It answers the calls Strata's AzureBucket makes (Create Container, List Blobs, Get Blob,
Get Blob Properties, Put Blob, Put Block, Put Block List, Delete Blob) with Azure's status
codes, headers and XML, on path-style URLs as Azurite serves them:
http://127.0.0.1:PORT/{account}/{container}/{blob}.

Every request's Shared Key signature is recomputed by Microsoft's own code: the received
method, URL and headers are handed to azure-storage-blob's SharedKeyCredentialPolicy, and its
Authorization header must equal the received one, or the answer is 403 AuthenticationFailed
with the string to sign in the message. The oracle is the Azure SDK, not this file.

Test hooks (no signature needed), under /__fixture/:
  GET  /__fixture/stats          JSON counts of the operations served and of auth failures
  POST /__fixture/fail?count=N   the next N blob-service requests get 503 ServerBusy

Usage: azure_blob_fixture.py --port P --account NAME --key BASE64 [--page-size N]
"""

import argparse
import base64
import binascii
import collections
import datetime
import hashlib
import json
import sys
import threading
import uuid
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote, urlsplit
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from azure.core.pipeline import PipelineContext, PipelineRequest
from azure.core.pipeline.transport import HttpRequest
from azure.storage.blob._shared.authentication import SharedKeyCredentialPolicy

API_VERSION = "2021-08-06"
MAX_CLOCK_SKEW = datetime.timedelta(minutes=15)


class RecordingPolicy(SharedKeyCredentialPolicy):
    """The SDK's policy, keeping the string it signed so a refusal can show it."""

    def _add_authorization_header(self, request, string_to_sign):
        self.string_to_sign = string_to_sign
        super()._add_authorization_header(request, string_to_sign)


def expected_authorization(account, key, method, url, headers):
    """What azure-storage-blob would put in Authorization for this request, and the string it signed."""
    request = HttpRequest(method, url, headers=headers)
    policy = RecordingPolicy(account, key)
    policy.on_request(PipelineRequest(request, PipelineContext(None)))
    return request.headers["Authorization"], policy.string_to_sign


def http_date(when):
    return format_datetime(when, usegmt=True)


class Blob:
    def __init__(self, data, content_type, committed_blocks=None):
        self.data = bytes(data)
        self.content_type = content_type or "application/octet-stream"
        self.modified = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        self.etag = '"0x%s"' % hashlib.md5(self.data + str(uuid.uuid4()).encode()).hexdigest()[:15].upper()
        self.committed_blocks = committed_blocks or {}


class State:
    def __init__(self, account, key, page_size):
        self.account = account
        self.key = key
        self.page_size = page_size
        self.lock = threading.Lock()
        self.containers = {}  # name -> {blob name -> Blob}
        self.uncommitted = {}  # (container, blob) -> {block id -> bytes}
        self.stats = collections.Counter()
        self.failures_to_inject = 0


class AzureError(Exception):
    def __init__(self, status, code, message, detail=None):
        super().__init__(message)
        self.status, self.code, self.message, self.detail = status, code, message, detail


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Windows-Azure-Blob/1.0"
    state = None  # set in main

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.command, fmt % args))

    # --- plumbing -----------------------------------------------------------------------

    def do_GET(self):
        self.serve()

    def do_HEAD(self):
        self.serve()

    def do_PUT(self):
        self.serve()

    def do_DELETE(self):
        self.serve()

    def do_POST(self):
        self.serve()

    def serve(self):
        self.request_id = str(uuid.uuid4())
        try:
            body = self.read_body()
            if self.path.startswith("/__fixture/"):
                return self.fixture_hook()
            with self.state.lock:
                if self.state.failures_to_inject > 0:
                    self.state.failures_to_inject -= 1
                    self.state.stats["injected_failures"] += 1
                    raise AzureError(503, "ServerBusy", "The server is currently unable to receive requests. Please retry your request.")
            self.authenticate()
            self.route(body)
        except AzureError as e:
            self.send_error_xml(e)

    def read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            raise AzureError(411, "MissingContentLengthHeader", "Content-Length HTTP header is required.")
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def reply(self, status, headers=None, body=b""):
        self.send_response(status)
        self.send_header("x-ms-request-id", self.request_id)
        self.send_header("x-ms-version", API_VERSION)
        headers = dict(headers or {})
        headers.setdefault("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def send_error_xml(self, e):
        message = "%s\nRequestId:%s\nTime:%s" % (e.message, self.request_id,
                                                 datetime.datetime.now(datetime.timezone.utc).isoformat())
        detail = "<AuthenticationErrorDetail>%s</AuthenticationErrorDetail>" % escape(e.detail) if e.detail else ""
        body = ('<?xml version="1.0" encoding="utf-8"?><Error><Code>%s</Code><Message>%s</Message>%s</Error>'
                % (e.code, escape(message), detail)).encode()
        headers = {"x-ms-error-code": e.code, "Content-Type": "application/xml"}
        if self.command == "HEAD":  # a HEAD answer has no body; the code is in x-ms-error-code
            self.reply(e.status, headers)
        else:
            self.reply(e.status, headers, body)

    def fixture_hook(self):
        url = urlsplit(self.path)
        if url.path == "/__fixture/stats":
            with self.state.lock:
                data = json.dumps(dict(self.state.stats)).encode()
            return self.reply(200, {"Content-Type": "application/json"}, data)
        if url.path == "/__fixture/fail":
            count = int(dict(parse_qsl(url.query)).get("count", "1"))
            with self.state.lock:
                self.state.failures_to_inject = count
            return self.reply(204)
        raise AzureError(404, "ResourceNotFound", "No such fixture hook.")

    # --- Shared Key, checked by the SDK ---------------------------------------------------

    def authenticate(self):
        received = self.headers.get("Authorization")
        if not received:
            self.count("auth_failures")
            raise AzureError(403, "AuthenticationFailed", "Server failed to authenticate the request: no Authorization header.")
        date = self.headers.get("x-ms-date") or self.headers.get("Date")
        try:
            sent = parsedate_to_datetime(date)
        except (TypeError, ValueError):
            sent = None
        if sent is None or abs(datetime.datetime.now(datetime.timezone.utc) - sent) > MAX_CLOCK_SKEW:
            self.count("auth_failures")
            raise AzureError(403, "AuthenticationFailed", "Request date header missing, unreadable or too far from now: %r" % date)
        # Header names are case-insensitive on the wire, as the service treats them; the SDK
        # (which always sends lowercase x-ms-* names) picks x-ms-* headers case-sensitively.
        headers = {name.lower(): value for name, value in self.headers.items() if name.lower() != "authorization"}
        url = "http://%s%s" % (self.headers.get("Host", "127.0.0.1"), self.path)
        expected, string_to_sign = expected_authorization(self.state.account, self.state.key, self.command, url, headers)
        if received != expected:
            self.count("auth_failures")
            shown = string_to_sign.replace("\n", "\\n")
            raise AzureError(403, "AuthenticationFailed",
                             "Server failed to authenticate the request. Make sure the value of Authorization header is "
                             "formed correctly including the signature. Server used following string to sign: '%s'." % shown,
                             detail="The MAC signature found in the HTTP request '%s' is not the same as any computed "
                                    "signature. Server used following string to sign: '%s'." % (received, shown))

    def count(self, what):
        with self.state.lock:
            self.state.stats[what] += 1

    # --- the Blob service -----------------------------------------------------------------

    def route(self, body):
        url = urlsplit(self.path)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        parts = url.path.lstrip("/").split("/", 2)
        if parts[0] != self.state.account:
            raise AzureError(403, "AuthenticationFailed", "Unknown account %r." % parts[0])
        if len(parts) < 2 or not parts[1]:
            raise AzureError(400, "InvalidUri", "This fixture serves containers and blobs only.")
        container = unquote(parts[1])
        blob = unquote(parts[2]) if len(parts) > 2 and parts[2] else None
        verb = self.command
        if blob is None:
            if verb == "PUT" and query.get("restype") == "container":
                return self.create_container(container)
            if verb == "GET" and query.get("restype") == "container" and query.get("comp") == "list":
                return self.list_blobs(container, query)
        else:
            comp = query.get("comp")
            if verb == "PUT" and comp is None:
                return self.put_blob(container, blob, body)
            if verb == "PUT" and comp == "block":
                return self.put_block(container, blob, query.get("blockid", ""), body)
            if verb == "PUT" and comp == "blocklist":
                return self.put_block_list(container, blob, body)
            if verb in ("GET", "HEAD") and comp is None:
                return self.get_blob(container, blob, with_body=verb == "GET")
            if verb == "DELETE" and comp is None:
                return self.delete_blob(container, blob)
        raise AzureError(400, "UnsupportedQueryParameter", "This fixture does not serve %s %s." % (verb, self.path))

    def blobs_of(self, container):
        blobs = self.state.containers.get(container)
        if blobs is None:
            raise AzureError(404, "ContainerNotFound", "The specified container does not exist.")
        return blobs

    def create_container(self, container):
        with self.state.lock:
            self.state.stats["create_container"] += 1
            if container in self.state.containers:
                raise AzureError(409, "ContainerAlreadyExists", "The specified container already exists.")
            self.state.containers[container] = {}
        self.reply(201, {"Last-Modified": http_date(datetime.datetime.now(datetime.timezone.utc)), "ETag": '"0x1"'})

    def list_blobs(self, container, query):
        prefix = query.get("prefix", "")
        delimiter = query.get("delimiter", "")
        marker = query.get("marker", "")
        page = int(query.get("maxresults") or self.state.page_size)
        with self.state.lock:
            self.state.stats["list_blobs"] += 1
            blobs = dict(self.blobs_of(container))
        entries = {}  # name -> Blob, or None for a prefix
        for name, blob in blobs.items():
            if not name.startswith(prefix):
                continue
            rest = name[len(prefix):]
            if delimiter and delimiter in rest:
                entries[prefix + rest[: rest.index(delimiter) + len(delimiter)]] = None
            else:
                entries[name] = blob
        names = sorted(entries)
        start = base64.urlsafe_b64decode(marker.encode()).decode() if marker else ""
        names = [n for n in names if n >= start]
        shown, rest = names[:page], names[page:]
        items = []
        for name in shown:
            blob = entries[name]
            if blob is None:
                items.append("<BlobPrefix><Name>%s</Name></BlobPrefix>" % escape(name))
            else:
                items.append("<Blob><Name>%s</Name><Properties><Last-Modified>%s</Last-Modified><Etag>%s</Etag>"
                             "<Content-Length>%d</Content-Length><Content-Type>%s</Content-Type>"
                             "<BlobType>BlockBlob</BlobType></Properties></Blob>"
                             % (escape(name), http_date(blob.modified), blob.etag, len(blob.data), escape(blob.content_type)))
        next_marker = base64.urlsafe_b64encode(rest[0].encode()).decode() if rest else ""
        xml = ('<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="http://%s/%s/" ContainerName="%s">'
               "<Prefix>%s</Prefix><Marker>%s</Marker><MaxResults>%d</MaxResults><Delimiter>%s</Delimiter>"
               "<Blobs>%s</Blobs><NextMarker>%s</NextMarker></EnumerationResults>"
               % (self.headers.get("Host", ""), self.state.account, escape(container), escape(prefix), escape(marker),
                  page, escape(delimiter), "".join(items), next_marker))
        self.reply(200, {"Content-Type": "application/xml"}, xml.encode())

    def put_blob(self, container, blob, body):
        if self.headers.get("x-ms-blob-type") != "BlockBlob":
            raise AzureError(400, "InvalidHeaderValue", "x-ms-blob-type must be BlockBlob here, not %r." % self.headers.get("x-ms-blob-type"))
        with self.state.lock:
            self.state.stats["put_blob"] += 1
            stored = Blob(body, self.headers.get("Content-Type"))
            self.blobs_of(container)[blob] = stored
            self.state.uncommitted.pop((container, blob), None)
        self.reply(201, {"ETag": stored.etag, "Last-Modified": http_date(stored.modified), "x-ms-request-server-encrypted": "true"})

    def put_block(self, container, blob, block_id, body):
        try:
            raw = base64.b64decode(block_id, validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if not raw or len(raw) > 64:
            raise AzureError(400, "InvalidQueryParameterValue", "Value for one of the query parameters specified in the request URI is invalid: blockid=%r." % block_id)
        with self.state.lock:
            self.state.stats["put_block"] += 1
            self.blobs_of(container)
            blocks = self.state.uncommitted.setdefault((container, blob), {})
            if any(len(base64.b64decode(other)) != len(raw) for other in blocks):
                raise AzureError(400, "InvalidBlobOrBlock", "The specified blob or block content is invalid (block ids of different lengths).")
            blocks[block_id] = bytes(body)
        self.reply(201, {"x-ms-request-server-encrypted": "true"})

    def put_block_list(self, container, blob, body):
        try:
            root = ElementTree.fromstring(body)
        except ElementTree.ParseError:
            raise AzureError(400, "InvalidXmlDocument", "XML specified is not syntactically valid.")
        if root.tag != "BlockList":
            raise AzureError(400, "InvalidXmlDocument", "The root element must be BlockList.")
        with self.state.lock:
            self.state.stats["put_block_list"] += 1
            blobs = self.blobs_of(container)
            uncommitted = self.state.uncommitted.get((container, blob), {})
            committed = blobs[blob].committed_blocks if blob in blobs else {}
            data, kept = bytearray(), {}
            for element in root:
                block_id = (element.text or "").strip()
                sources = {"Latest": (uncommitted, committed), "Uncommitted": (uncommitted,), "Committed": (committed,)}.get(element.tag)
                found = next((s[block_id] for s in sources or () if block_id in s), None)
                if found is None:
                    raise AzureError(400, "InvalidBlockList", "The specified block list is invalid (%s %r)." % (element.tag, block_id))
                data += found
                kept[block_id] = found
            stored = Blob(data, self.headers.get("x-ms-blob-content-type"), kept)
            blobs[blob] = stored
            self.state.uncommitted.pop((container, blob), None)
        self.reply(201, {"ETag": stored.etag, "Last-Modified": http_date(stored.modified), "x-ms-request-server-encrypted": "true"})

    def get_blob(self, container, blob, with_body):
        with self.state.lock:
            self.state.stats["get_blob" if with_body else "get_blob_properties"] += 1
            stored = self.blobs_of(container).get(blob)
        if stored is None:
            raise AzureError(404, "BlobNotFound", "The specified blob does not exist.")
        headers = {"Last-Modified": http_date(stored.modified), "ETag": stored.etag, "Content-Type": stored.content_type,
                   "x-ms-blob-type": "BlockBlob", "Accept-Ranges": "bytes"}
        wanted = self.headers.get("x-ms-range") or self.headers.get("Range")
        if not with_body or not wanted:
            headers["Content-Length"] = str(len(stored.data))
            return self.reply(200, headers, stored.data if with_body else b"")
        try:
            unit, spec = wanted.split("=", 1)
            first, last = spec.split("-", 1)
            first = int(first)
            last = int(last) if last else len(stored.data) - 1
            if unit != "bytes" or first < 0 or last < first:
                raise ValueError
        except ValueError:
            raise AzureError(400, "InvalidHeaderValue", "The value for one of the HTTP headers is not in the correct format: %r." % wanted)
        if first >= len(stored.data):
            raise AzureError(416, "InvalidRange", "The range specified is invalid for the current size of the resource.")
        last = min(last, len(stored.data) - 1)
        headers["Content-Range"] = "bytes %d-%d/%d" % (first, last, len(stored.data))
        self.reply(206, headers, stored.data[first : last + 1])

    def delete_blob(self, container, blob):
        with self.state.lock:
            self.state.stats["delete_blob"] += 1
            blobs = self.blobs_of(container)
            if blob not in blobs:
                raise AzureError(404, "BlobNotFound", "The specified blob does not exist.")
            del blobs[blob]
        self.reply(202, {"x-ms-delete-type-permanent": "true"})


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--account", required=True)
    parser.add_argument("--key", required=True, help="the account key, base64")
    parser.add_argument("--page-size", type=int, default=5000, help="List Blobs page size when maxresults is not given")
    args = parser.parse_args()
    base64.b64decode(args.key, validate=True)
    Handler.state = State(args.account, args.key, args.page_size)
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    sys.stderr.write("azure blob fixture on http://%s:%d/%s\n" % (args.host, args.port, args.account))
    sys.stderr.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()
