"""avzoo.data"""
