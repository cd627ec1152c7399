"""Parsing of untrusted XML (BPMN and DMN files uploaded by anyone who may deploy).

No DTD is loaded, no entity is resolved, nothing is fetched from the network, and a
document that declares a DOCTYPE at all is refused: BPMN and DMN never need one, and
refusing it outright stops billion-laughs and external-entity files before any expansion.
"""
from __future__ import annotations

from lxml import etree

from .errors import DeploymentError, Problem

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
    try:
        tree = etree.fromstring(content, parser=_PARSER).getroottree()
    except etree.XMLSyntaxError as exc:
        raise DeploymentError([Problem(filename, None, f"not well-formed XML: {exc}")]) from None
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise DeploymentError(
            [Problem(filename, None, "a DOCTYPE declaration is not allowed (entities and DTDs are refused)")]
        )
    return tree.getroot()
