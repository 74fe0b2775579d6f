"""Uploaded blobs (see jmapcore.blobs)."""
