"""Baseline for bench_crawl.py: a bare Scrapy spider that only follows links on the same host."""

from urllib.parse import urlsplit

import scrapy


class BareSpider(scrapy.Spider):
    name = "bare"
    # Run from the project folder it gets the project's settings, whose spider dedupes through the
    # state's frontier instead of Scrapy's request filter: a bare spider needs Scrapy's own filter
    # and none of the project's run folder or state.
    custom_settings = {
        "DUPEFILTER_CLASS": "scrapy.dupefilters.RFPDupeFilter",
        "EXTENSIONS": {"crawler.export.RunWriter": None, "scrapy.extensions.telnet.TelnetConsole": None},
        "ITEM_PIPELINES": {},
    }

    def __init__(self, url: str, **kwargs):
        super().__init__(**kwargs)
        self.start_urls = [url]
        self.host = urlsplit(url).hostname

    def parse(self, response):
        for href in response.css("a::attr(href)").getall():
            url = response.urljoin(href)
            if urlsplit(url).hostname == self.host:
                try:
                    yield scrapy.Request(url, callback=self.parse)
                except ValueError:  # a malformed link (bad port) must not end the page
                    continue
