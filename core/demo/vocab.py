"""The demo's vocabularies: events, channels, categories and prices, hours of the day, cities."""

from __future__ import annotations

import numpy as np

# ---------------------------------------------------------------- vocabularies
EVENTS = (
    "ad_impression",
    "article_view",
    "live_view",
    "product_view",
    "add_to_cart",
    "favorite",
    "follow",
    "coupon_claim",
    "purchase",
    "review",
    "share",
    "member_join",
)
AD, ARTICLE, LIVE, PV, ATC, FAV, FOLLOW, COUPON, PURCHASE, REVIEW, SHARE, JOIN = range(12)

CHANNELS = ("wechat", "mini_program", "app", "sms", "store")
SIGNUP_CHANNELS = (
    "wechat",
    "mini_program",
    "app",
    "sms",
    "offline",
)  # same order: offline -> store
STORE = 4
SIGNUP_CHANNEL_P = (0.34, 0.30, 0.16, 0.05, 0.15)

# Probability of each channel per event (rows follow EVENTS).
CHANNEL_P = np.array(
    [
        [0.45, 0.10, 0.35, 0.10, 0.00],  # ad_impression
        [0.70, 0.10, 0.20, 0.00, 0.00],  # article_view
        [0.30, 0.30, 0.40, 0.00, 0.00],  # live_view
        [0.10, 0.50, 0.35, 0.00, 0.05],  # product_view
        [0.00, 0.55, 0.45, 0.00, 0.00],  # add_to_cart
        [0.00, 0.50, 0.50, 0.00, 0.00],  # favorite
        [0.80, 0.00, 0.20, 0.00, 0.00],  # follow
        [0.30, 0.30, 0.20, 0.20, 0.00],  # coupon_claim
        [0.10, 0.35, 0.25, 0.00, 0.30],  # purchase
        [0.00, 0.50, 0.50, 0.00, 0.00],  # review
        [0.80, 0.20, 0.00, 0.00, 0.00],  # share
        [0.30, 0.40, 0.20, 0.00, 0.10],  # member_join
    ]
)

CATEGORIES = ("cake", "bread", "coffee", "snacks", "gift", "dairy", "dessert", "drinks")
CAKE, BREAD, COFFEE, SNACKS, GIFT, DAIRY, DESSERT, DRINKS = range(8)
CATEGORY_P = (0.04, 0.28, 0.20, 0.14, 0.04, 0.10, 0.12, 0.08)  # what anyone browses/buys
FAVOURITE_P = (0.06, 0.30, 0.22, 0.12, 0.04, 0.08, 0.12, 0.06)  # a member's own favourite
PRICE_MEDIAN = np.array([168.0, 22.0, 28.0, 18.0, 228.0, 15.0, 32.0, 16.0])
PRICE_SIGMA = np.array([0.30, 0.40, 0.30, 0.45, 0.40, 0.35, 0.35, 0.30])

# Hour-of-day shape (local wall clock): breakfast, lunch and evening peaks.
HOUR_W = np.array(
    [0.6, 0.3, 0.15, 0.1, 0.1, 0.2, 0.6, 1.5, 2.2, 1.8, 1.6, 1.9, 2.6, 2.2, 1.6, 1.7, 1.9, 2.1]
    + [2.3, 2.6, 3.0, 2.9, 2.2, 1.3]
)

# (name, province, store-code prefix, weight): 40 cities, skewed to the big ones.
CITIES = (
    ("Shanghai", "Shanghai", "SHA", 10.0),
    ("Beijing", "Beijing", "BJS", 9.0),
    ("Guangzhou", "Guangdong", "CAN", 7.0),
    ("Shenzhen", "Guangdong", "SZX", 7.0),
    ("Hangzhou", "Zhejiang", "HGH", 6.0),
    ("Chengdu", "Sichuan", "CTU", 6.0),
    ("Wuhan", "Hubei", "WUH", 4.5),
    ("Nanjing", "Jiangsu", "NKG", 4.5),
    ("Chongqing", "Chongqing", "CKG", 4.5),
    ("Suzhou", "Jiangsu", "SZV", 4.0),
    ("Xi'an", "Shaanxi", "XIY", 3.5),
    ("Tianjin", "Tianjin", "TSN", 3.5),
    ("Changsha", "Hunan", "CSX", 3.0),
    ("Zhengzhou", "Henan", "CGO", 3.0),
    ("Qingdao", "Shandong", "TAO", 2.5),
    ("Dongguan", "Guangdong", "DGM", 2.5),
    ("Ningbo", "Zhejiang", "NGB", 2.5),
    ("Foshan", "Guangdong", "FOS", 2.2),
    ("Hefei", "Anhui", "HFE", 2.2),
    ("Jinan", "Shandong", "TNA", 2.0),
    ("Xiamen", "Fujian", "XMN", 2.0),
    ("Fuzhou", "Fujian", "FOC", 1.8),
    ("Kunming", "Yunnan", "KMG", 1.8),
    ("Shenyang", "Liaoning", "SHE", 1.8),
    ("Dalian", "Liaoning", "DLC", 1.6),
    ("Wuxi", "Jiangsu", "WUX", 1.6),
    ("Harbin", "Heilongjiang", "HRB", 1.5),
    ("Changchun", "Jilin", "CGQ", 1.4),
    ("Nanning", "Guangxi", "NNG", 1.4),
    ("Shijiazhuang", "Hebei", "SJW", 1.3),
    ("Taiyuan", "Shanxi", "TYN", 1.2),
    ("Nanchang", "Jiangxi", "KHN", 1.2),
    ("Guiyang", "Guizhou", "KWE", 1.1),
    ("Wenzhou", "Zhejiang", "WNZ", 1.1),
    ("Quanzhou", "Fujian", "JJN", 1.0),
    ("Lanzhou", "Gansu", "LHW", 0.8),
    ("Haikou", "Hainan", "HAK", 0.7),
    ("Hohhot", "Inner Mongolia", "HET", 0.6),
    ("Urumqi", "Xinjiang", "URC", 0.6),
    ("Yinchuan", "Ningxia", "INC", 0.4),
)
STORES_TOTAL = 5_000
