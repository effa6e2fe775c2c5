"""avzoo.features"""
