"""Valify Batch: validate batches of sales leads and notify customers by signed webhook."""

from .celery import app as celery_app

__all__ = ("celery_app",)
