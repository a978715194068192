from app.common.api import Blueprint


