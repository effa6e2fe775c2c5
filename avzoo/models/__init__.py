"""avzoo.models"""
