#!/usr/bin/env python3
"""Generates grafana/dashboards/pixelwatch.json, the pixelwatch Grafana dashboard.

    python3 grafana/tools/dashboard.py > grafana/dashboards/pixelwatch.json

The JSON is committed and is what users import or provision; this script keeps the layout, the
datasource references and the query conventions consistent:
- every query filters on the dashboard variables $job and $instance (scale-out: several gateways);
- rates use $__rate_interval; label sets are summed by a bounded label and capped with topk($topn);
- totals over the dashboard range count series that appeared inside the range with their value
  (`x * 1 unless x offset $__range`): increase() alone ignores the first sample of a new series,
  and a counter that appears at 1 (the first address leak, the first contact with a company) is
  exactly the event this dashboard is about.
tests/prometheus.rs evaluates every expression of the JSON against a real Prometheus.
"""

import json
import sys

DS = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
SEL = 'job=~"$job", instance=~"$instance"'


def sel(extra=""):
    return "{" + SEL + (", " + extra if extra else "") + "}"


def range_total(metric, by, extra=""):
    """Total over the dashboard range, summed by `by`, exact for series born inside the range."""
    s = metric + sel(extra)
    return f"sum by ({by}) (({s} * 1 unless {s} offset $__range) or increase({s}[$__range]))"


def range_total_all(metric, extra=""):
    s = metric + sel(extra)
    return f"sum(({s} * 1 unless {s} offset $__range) or increase({s}[$__range])) or vector(0)"


class Layout:
    def __init__(self):
        self.panels = []
        self.y = 0
        self.x = 0
        self.row_h = 0
        self.next_id = 1

    def row(self, title):
        self.newline()
        self.panels.append(
            {"type": "row", "title": title, "id": self.take_id(), "collapsed": False, "panels": [],
             "gridPos": {"h": 1, "w": 24, "x": 0, "y": self.y}}
        )
        self.y += 1

    def newline(self):
        if self.x:
            self.y += self.row_h
            self.x = 0
            self.row_h = 0

    def take_id(self):
        i = self.next_id
        self.next_id += 1
        return i

    def add(self, panel, w, h):
        if self.x + w > 24:
            self.newline()
        panel["id"] = self.take_id()
        panel["gridPos"] = {"h": h, "w": w, "x": self.x, "y": self.y}
        self.x += w
        self.row_h = max(self.row_h, h)
        self.panels.append(panel)


def target(expr, legend="", instant=False, fmt="time_series", ref="A"):
    t = {"datasource": DS, "expr": expr, "refId": ref, "legendFormat": legend or "__auto", "range": not instant,
         "instant": instant, "format": fmt}
    if instant:
        t["interval"] = ""
    return t


def timeseries(title, desc, targets, unit="cpm", stack=False, bars=False, thresholds=None, decimals=None):
    custom = {"drawStyle": "bars" if bars else "line", "fillOpacity": 60 if bars else 15, "lineWidth": 1,
              "showPoints": "never", "spanNulls": False,
              "stacking": {"mode": "normal" if stack else "none", "group": "A"}}
    defaults = {"unit": unit, "custom": custom, "min": 0}
    if decimals is not None:
        defaults["decimals"] = decimals
    if thresholds:
        defaults["thresholds"] = {"mode": "absolute", "steps": thresholds}
        custom["thresholdsStyle"] = {"mode": "line+area"}
    return {"type": "timeseries", "title": title, "description": desc, "datasource": DS, "targets": targets,
            "fieldConfig": {"defaults": defaults, "overrides": []},
            "options": {"legend": {"displayMode": "table", "placement": "right", "calcs": ["sum", "max"]},
                        "tooltip": {"mode": "multi", "sort": "desc"}}}


def stat(title, desc, expr, unit="none", color="blue", steps=None):
    steps = steps or [{"color": color, "value": None}]
    return {"type": "stat", "title": title, "description": desc, "datasource": DS,
            "targets": [target(expr, instant=True)],
            "fieldConfig": {"defaults": {"unit": unit, "decimals": 0,
                                         "thresholds": {"mode": "absolute", "steps": steps}}, "overrides": []},
            "options": {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                        "colorMode": "background", "graphMode": "none", "textMode": "value"}}


def table(title, desc, expr, columns, value_name):
    rename = {"Value": value_name}
    order = {c: i for i, c in enumerate(columns + [value_name])}
    return {"type": "table", "title": title, "description": desc, "datasource": DS,
            "targets": [target(expr, instant=True, fmt="table")],
            "transformations": [
                {"id": "organize", "options": {
                    "excludeByName": {"Time": True},
                    "indexByName": order, "renameByName": rename}},
                {"id": "sortBy", "options": {"sort": [{"field": value_name, "desc": True}]}}],
            "fieldConfig": {"defaults": {"custom": {"align": "auto"}, "decimals": 0}, "overrides": []},
            "options": {"showHeader": True, "cellHeight": "sm"}}


def bargauge(title, desc, expr, legend):
    return {"type": "bargauge", "title": title, "description": desc, "datasource": DS,
            "targets": [target(expr, legend=legend, instant=True)],
            "fieldConfig": {"defaults": {"unit": "none", "decimals": 0, "min": 0,
                                         "color": {"mode": "continuous-BlYlRd"}}, "overrides": []},
            "options": {"orientation": "horizontal", "displayMode": "gradient", "showUnfilled": True,
                        "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}}}


def build():
    L = Layout()
    contacts = "pixelwatch_tracker_contacts_total"
    opens = "pixelwatch_email_opens_total"
    open_contacts = "pixelwatch_email_open_tracker_contacts_total"
    leaks = "pixelwatch_address_leaks_total"
    company_sel = 'company=~"$company"'
    client_sel = 'client=~"$client"'
    known_company = 'company!="other"'

    L.row("E-mail opens")
    L.add(stat("E-mail opens", "Opens recognised in the time range (a burst of tracker contacts with an e-mail "
               "pixel host, or right after mail activity of the same client).", range_total_all(opens),
               color="purple"), 4, 5)
    L.add(stat("Address leaks", "Requests that carried a watched e-mail address (plain, encoded or hashed) "
               "to a tracker in the time range. Anything above 0 deserves a look at the event log.",
               range_total_all(leaks), steps=[{"color": "green", "value": None}, {"color": "red", "value": 1}]), 4, 5)
    L.add(stat("Tracker contacts", "Contacts with tracker hosts in the time range (once per DNS lookup, "
               "TLS/QUIC connection or HTTP request).", range_total_all(contacts), color="orange"), 4, 5)
    L.add(stat("Tracker companies", "Distinct companies contacted in the time range.",
               f"count({range_total(contacts, 'company', known_company)} > 0) or vector(0)",
               color="orange"), 4, 5)
    L.add(stat("Proxied image fetches", "Images fetched by a mail provider's image proxy (Gmail, Yahoo, Apple "
               "Mail Privacy Protection): the sender learns the proxy opened the mail, not your address.",
               range_total_all("pixelwatch_proxied_image_fetches_total"), color="green"), 4, 5)
    L.add(stat("Cloaked tracker contacts", "Contacts with first-party names whose DNS answer is a CNAME to a "
               "tracker (CNAME cloaking), in the time range.",
               range_total_all("pixelwatch_cloaked_tracker_contacts_total"), color="red"), 4, 5)
    L.add(timeseries("E-mail opens by confidence", "Opens per interval; confidence says how sure the "
                     "correlation is (an e-mail pixel host, or analytics right after mail activity).",
                     [target(f"sum by (confidence) (increase({opens}{sel()}[$__rate_interval]))", "{{confidence}}")],
                     unit="none", stack=True, bars=True, decimals=0), 12, 8)
    L.add(timeseries("E-mail opens by client", "Needs --per-client: opens per interval for each local client "
                     "(bounded label). Pick clients with the $client variable.",
                     [target(f"topk($topn, sum by (client) (increase({opens}{sel(client_sel)}"
                             f"[$__rate_interval])))", "{{client}}")],
                     unit="none", stack=True, bars=True, decimals=0), 12, 8)
    L.add(table("Trackers contacted during e-mail opens", "Which companies learn that a mail was opened: tracker "
                "contacts that were part of an open, in the time range.",
                f"topk($topn, {range_total(open_contacts, 'company, tracker, category')})",
                ["company", "tracker", "category"], "contacts"), 12, 8)
    L.add(table("Address leaks by tracker and encoding", "Who received a watched address, and in which form "
                "(plain, url, base64, md5, sha256…). Never the address itself: see the event log for when.",
                f"topk($topn, {range_total(leaks, 'company, tracker, encoding')})",
                ["company", "tracker", "encoding"], "leaks"), 12, 8)

    L.row("Tracker contacts")
    L.add(timeseries("Tracker contacts by company", "Contacts per minute, top $topn companies.",
                     [target(f"topk($topn, sum by (company) (rate({contacts}{sel(company_sel)}[$__rate_interval])"
                             f" * 60))", "{{company}}")], stack=True), 12, 9)
    L.add(timeseries("Tracker contacts by category", "email = ESP open pixels, email-sales = one-to-one sales "
                     "trackers, esp-click = click tracking, analytics, advertising.",
                     [target(f"sum by (category) (rate({contacts}{sel(company_sel)}[$__rate_interval]) * 60)",
                             "{{category}}")], stack=True), 12, 9)
    L.add(bargauge("Contacts by company", "Tracker contacts in the time range, top $topn companies.",
                   f"topk($topn, {range_total(contacts, 'company', company_sel)})", "{{company}}"), 8, 10)
    L.add(table("Top trackers", "Tracker list entries contacted in the time range, with the channel counts "
                "summed (see the next panel for DNS/TLS/QUIC/HTTP/IP).",
                f"topk($topn, {range_total(contacts, 'company, tracker, category', company_sel)})",
                ["company", "tracker", "category"], "contacts"), 10, 10)
    L.add(timeseries("Tracker contacts by channel", "How the contact was seen: dns (lookup), tls / quic "
                     "(ClientHello SNI), http (plain-HTTP Host), ip (connection to an address a tracker name "
                     "resolved to, without a usable SNI).",
                     [target(f"sum by (via) (rate({contacts}{sel(company_sel)}[$__rate_interval]) * 60)",
                             "{{via}}")], stack=True), 6, 10)
    L.add(timeseries("Cloaked tracker contacts by company", "First-party names that are CNAMEs to a tracker "
                     "(CNAME cloaking), per minute.",
                     [target(f"topk($topn, sum by (company) (rate(pixelwatch_cloaked_tracker_contacts_total"
                             f"{sel(company_sel)}[$__rate_interval]) * 60))", "{{company}}")], stack=True), 12, 8)
    L.add(timeseries("Proxied image fetches by proxy", "Images fetched through a mail provider's image proxy, "
                     "per minute.",
                     [target(f"sum by (proxy) (rate(pixelwatch_proxied_image_fetches_total{sel()}"
                             f"[$__rate_interval]) * 60)", "{{proxy}}")], stack=True), 12, 8)

    L.row("Names observed")
    L.add(timeseries("Names observed by kind", "Names read from traffic per second: DNS questions and answer "
                     "records, TLS and QUIC SNI, HTTP Host headers (trackers or not).",
                     [target(f"sum by (kind) (rate(pixelwatch_observations_total{sel()}[$__rate_interval]))",
                             "{{kind}}")], unit="cps", stack=True), 24, 8)
    L.row("Capture health")
    L.add(timeseries("Packets per second", "Packets read from the capture, per instance.",
                     [target(f"sum by (instance) (rate(pixelwatch_packets_total{sel()}[$__rate_interval]))",
                             "{{instance}}")], unit="pps"), 8, 8)
    L.add(timeseries("Capture drops (% of packets)", "Packets the kernel or the interface dropped before "
                     "pixelwatch saw them, as a share of all packets (live capture only). Above 0.1 %: raise "
                     "--buffer-size or filter with -f.",
                     [target(f"100 * sum by (instance) (rate(pixelwatch_capture_dropped_packets_total{sel()}"
                             f"[$__rate_interval])) / (sum by (instance) (rate(pixelwatch_packets_total{sel()}"
                             f"[$__rate_interval])) + sum by (instance) (rate("
                             f"pixelwatch_capture_dropped_packets_total{sel()}[$__rate_interval])))",
                             "{{instance}}")], unit="percent", decimals=3,
                     thresholds=[{"color": "green", "value": None}, {"color": "red", "value": 0.1}]), 8, 8)
    L.add(timeseries("Decode errors by layer", "Packets skipped because a header was malformed or of an "
                     "unsupported type.",
                     [target(f"sum by (layer) (rate(pixelwatch_decode_errors_total{sel()}[$__rate_interval]))",
                             "{{layer}}")], unit="pps", stack=True), 8, 8)
    L.add(timeseries("Tracked flows", "TCP stream directions in the flow table, and evictions per second "
                     "(capacity evictions mean the table is too small for the link).",
                     [target(f"sum by (instance) (pixelwatch_flows{sel()})", "flows {{instance}}"),
                      target(f"sum by (reason) (rate(pixelwatch_flow_evictions_total{sel()}[$__rate_interval]))",
                             "evicted: {{reason}}", ref="B")], unit="short"), 8, 8)
    L.add(timeseries("Unsupported QUIC versions", "QUIC packets whose version pixelwatch cannot decrypt "
                     "(their SNI is not seen).",
                     [target(f"topk($topn, sum by (version) (rate(pixelwatch_quic_unsupported_packets_total{sel()}"
                             f"[$__rate_interval])))", "{{version}}")], unit="pps", stack=True), 8, 8)
    L.add(timeseries("Encrypted-DNS flows by resolver", "Flows to DNS-over-HTTPS/TLS/QUIC resolvers: the "
                     "names looked up through them are invisible here (SNI of later connections still shows).",
                     [target(f"topk($topn, sum by (resolver) (rate(pixelwatch_encrypted_dns_flows_total{sel()}"
                             f"[$__rate_interval]) * 60))", "{{resolver}}")], stack=True), 8, 8)

    L.add(timeseries("Tracker list reloads", "Reloads of the tracker lists by result.",
                     [target(f"sum by (result) (increase(pixelwatch_tracker_list_reloads_total{sel()}"
                             f"[$__rate_interval]))", "{{result}}")], unit="none", bars=True, decimals=0), 8, 7)
    L.add(table("Tracker list entries", "Entries loaded from each list (embedded list and --list files), "
                "per instance.", f"max by (instance, list) (pixelwatch_tracker_list_entries{sel()})",
                ["instance", "list"], "entries"), 8, 7)
    L.add(table("Instances", "pixelwatch instances scraped: version and whether the last scrape worked.",
                f"max by (instance, version) (pixelwatch_build_info{sel()}) * on (instance) group_left "
                f"max by (instance) (up{sel()})", ["instance", "version"], "up"), 8, 7)
    L.add(stat("Tracker label overflow", "Contacts counted under tracker=\"other\" because the label-set cap "
               "was reached (raise it or trim the lists).",
               range_total_all("pixelwatch_tracker_label_overflow_total"),
               steps=[{"color": "green", "value": None}, {"color": "orange", "value": 1}]), 8, 7)
    return L.panels


def variables():
    def query_var(name, label, query, include_all=True, multi=True):
        return {"name": name, "label": label, "type": "query", "datasource": DS,
                "query": {"query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
                "definition": query, "refresh": 2, "sort": 1, "multi": multi, "includeAll": include_all,
                "allValue": ".*", "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
                "options": [], "hide": 0, "regex": ""}

    return [
        # Named like the import input: on import Grafana replaces ${DS_PROMETHEUS} with the chosen
        # datasource; when the file is provisioned as is, the panels use this variable instead.
        {"name": "DS_PROMETHEUS", "label": "Data source", "type": "datasource", "query": "prometheus",
         "current": {}, "hide": 0, "refresh": 1, "regex": "", "options": []},
        query_var("job", "Job", "label_values(pixelwatch_build_info, job)"),
        query_var("instance", "Instance", 'label_values(pixelwatch_build_info{job=~"$job"}, instance)'),
        query_var("company", "Company", 'label_values(pixelwatch_tracker_contacts_total{job=~"$job", '
                  'instance=~"$instance"}, company)'),
        query_var("client", "Client (--per-client)", 'label_values(pixelwatch_email_opens_total{job=~"$job", '
                  'instance=~"$instance"}, client)'),
        {"name": "topn", "label": "Top N", "type": "custom", "query": "10,20,50", "multi": False,
         "includeAll": False, "current": {"selected": True, "text": "10", "value": "10"}, "hide": 0,
         "options": [{"selected": v == "10", "text": v, "value": v} for v in ["10", "20", "50"]]},
    ]


def dashboard():
    return {
        "__inputs": [{"name": "DS_PROMETHEUS", "label": "Prometheus", "description": "Prometheus scraping pixelwatch",
                      "type": "datasource", "pluginId": "prometheus", "pluginName": "Prometheus"}],
        "__requires": [
            {"type": "grafana", "id": "grafana", "name": "Grafana", "version": "10.0.0"},
            {"type": "datasource", "id": "prometheus", "name": "Prometheus", "version": "1.0.0"},
            {"type": "panel", "id": "timeseries", "name": "Time series", "version": ""},
            {"type": "panel", "id": "stat", "name": "Stat", "version": ""},
            {"type": "panel", "id": "table", "name": "Table", "version": ""},
            {"type": "panel", "id": "bargauge", "name": "Bar gauge", "version": ""},
        ],
        "uid": "pixelwatch-email-tracking",
        "title": "pixelwatch — e-mail tracking",
        "description": "E-mail opens, tracker contacts, address leaks and capture health from pixelwatch.",
        "tags": ["pixelwatch", "privacy", "email"],
        "editable": True,
        "graphTooltip": 1,
        "schemaVersion": 39,
        "version": 1,
        "time": {"from": "now-24h", "to": "now"},
        "refresh": "1m",
        "timezone": "",
        "annotations": {"list": [{"builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                                  "enable": True, "hide": True, "iconColor": "rgba(0, 211, 255, 1)",
                                  "name": "Annotations & Alerts", "type": "dashboard"}]},
        "links": [],
        "templating": {"list": variables()},
        "panels": build(),
    }


if __name__ == "__main__":
    json.dump(dashboard(), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
