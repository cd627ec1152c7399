"""Parsing of untrusted XML (BPMN and DMN files uploaded by anyone who may deploy).

No DTD is loaded, no entity is resolved, nothing is fetched from the network, and a
document that declares a DOCTYPE at all is refused: BPMN and DMN never need one, and
refusing it outright stops billion-laughs and external-entity files before any expansion.
"""
from __future__ import annotations

import re

from lxml import etree

from .errors import DeploymentError, Problem

_NO_DOCTYPE = "a DOCTYPE declaration is not allowed (entities and DTDs are refused)"
# Checked on the raw bytes, so that no entity trick reaches the parser (UTF-16 files are caught
# by the parser-level check below).
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)

_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_comments=False,
)


def parse_untrusted(content: bytes, filename: str) -> etree._Element:
    """Return the root element, or raise DeploymentError naming the file and the reason."""
    if isinstance(content, str):
        content = content.encode("utf-8")
    if _DOCTYPE.search(content):
        raise DeploymentError([Problem(filename, None, _NO_DOCTYPE)])
    try:
        tree = etree.fromstring(content, parser=_PARSER).getroottree()
    except etree.XMLSyntaxError as exc:
        raise DeploymentError([Problem(filename, None, f"not well-formed XML: {exc}", exc.lineno)]) from None
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise DeploymentError([Problem(filename, None, _NO_DOCTYPE)])
    return tree.getroot()
