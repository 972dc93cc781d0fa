"""The words synthetic data is made of: place and hospital names, diagnoses and their weights.

Kept apart from the generators so the distributions can be read (and tuned) at a glance.
Diagnosis codes are ICD-10 as Chinese hospitals report them; weights are relative.
"""

from __future__ import annotations

TOWNS = ("城关", "红旗", "新华", "柳林", "王店", "李庄", "张集", "东湖", "西岗", "南坪", "北关", "桃园",
         "石桥", "河口", "杨湾", "马庄", "高营", "刘集", "黄岗", "白沙", "青龙", "双庙", "孙寨", "郭店",
         "赵楼", "陈岗", "周湾", "吴庄", "龙泉", "金山", "太平", "永安", "和平", "兴隆", "三里", "五里",
         "十里", "古城", "新集", "旧县", "大营", "小店", "官庄", "丁集", "范庄", "田湖", "韩店", "曹集")
COUNTY = "样本县"
COUNTY_HOSPITALS = ("人民医院", "中医院", "妇幼保健院", "第二人民医院", "骨科医院", "中心医院",
                    "第三人民医院", "精神病医院", "肿瘤医院", "眼科医院")
CITIES = ("南阳", "周口", "开封", "新乡", "郑州", "安阳", "洛阳", "许昌", "信阳", "驻马店", "商丘", "平顶山")
CITY_HOSPITALS = ("市中心医院", "市第一人民医院", "市中医院", "市第二人民医院", "市妇幼保健院")
PROVINCIAL_HOSPITALS = ("河南省人民医院", "郑州大学第一附属医院", "河南省肿瘤医院", "河南省儿童医院",
                        "河南省胸科医院", "北京协和医院", "复旦大学附属中山医院", "四川大学华西医院",
                        "中南大学湘雅医院", "华中科技大学同济医学院附属协和医院",
                        "上海交通大学医学院附属瑞金医院", "中山大学附属第一医院", "北京大学第一医院",
                        "浙江大学医学院附属第一医院", "武汉大学人民医院", "西安交通大学第一附属医院")
PHARMACY_BRANDS = ("张仲景", "国药", "老百姓", "益丰", "大参林", "一心堂")

# (code, weight): first diagnosis of inpatient claims; S/T codes are injuries (外伤).
INPATIENT_DX = (("J18.9", 14), ("I63.9", 10), ("I21.9", 3), ("I25.1", 6), ("I50.9", 4), ("J44.1", 5),
                ("K80.2", 4), ("K35.8", 3), ("K29.7", 3), ("N20.0", 3), ("E11.9", 4), ("I10", 5),
                ("C34.9", 2), ("C50.9", 1.5), ("C16.9", 1.5), ("K74.6", 3), ("R18", 1), ("M17.9", 3),
                ("N18.5", 2), ("H25.9", 4), ("J45.9", 2), ("A09", 3), ("J06.9", 2))
TRAUMA_DX = (("S72.0", 4), ("S82.2", 3), ("S06.0", 2), ("S42.2", 2), ("T14.0", 1))
CHILD_DX = (("J18.9", 5), ("A09", 4), ("J06.9", 4), ("J20.9", 3), ("J45.9", 1))
OUTPATIENT_DX = (("J06.9", 20), ("J20.9", 12), ("K29.7", 10), ("M54.5", 8), ("I10", 10), ("E11.9", 6),
                 ("R50.9", 5), ("L30.9", 5), ("H10.9", 4), ("N39.0", 5), ("K59.0", 4), ("J02.9", 6),
                 ("R51", 5))
COMORBIDITY_DX = (("I10", 4), ("E11.9", 3), ("E78.5", 2), ("I25.1", 2), ("K21.0", 1))
# The chronic-disease codes of a tariff → the diagnoses a claim for them carries.
CHRONIC_DX = {"I10": ("I10",), "E11": ("E11.9",), "I25": ("I25.1",), "J44": ("J44.9",),
              "I69": ("I69.3",), "M06": ("M06.9",), "F20": ("F20.0",), "N18": ("N18.5",),
              "Z94": ("Z94.0",)}
CANCER_DX = ("C34.9", "C50.9", "C16.9", "C18.9", "C22.0", "C61", "C53.9")
# Relative share of certified patients per chronic disease (unknown tariff codes get 1).
CHRONIC_WEIGHTS = {"I10": 30, "E11": 25, "I25": 10, "J44": 8, "I69": 7, "M06": 4, "F20": 4, "N18": 4,
                   "C00-C97": 5, "Z94": 2}
MATERNITY_DX = {"prenatal": "Z34.9", "iud_insertion": "Z30.1", "iud_removal": "Z30.5", "abortion": "O04.9",
                "vaginal": "O80.0", "assisted": "O81.0", "caesarean": "O82.0", "induction": "O60.1",
                "miscarriage": "O03.9"}
