"""avzoo.io"""
