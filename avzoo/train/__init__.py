"""avzoo.train"""
