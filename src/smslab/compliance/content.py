"""Detect content categories (alcohol, gambling, loans…) in a message, in several languages.

A keyword heuristic, not a classifier: it looks for the country's languages plus English,
ignoring case and accents. Terms ending in `*` match any word ending. Declared
`content_tags` in the spec are always added. Categories without reliable keywords
(hate, lead_generation, p2p…) are only known when declared.

Example:
    >>> from smslab.compliance.content import detect
    >>> sorted(detect("Paris sportifs: 10€ offerts sur le casino !", ["fr"]))
    ['gambling']
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_ANY = {
    "url_shortener": [
        r"bit\.ly/",
        r"tinyurl\.com",
        r"goo\.gl/",
        r"t\.co/",
        r"ow\.ly/",
        r"is\.gd/",
        r"buff\.ly/",
        r"rebrand\.ly/",
        r"cutt\.ly/",
        r"shorturl\.at/",
        r"tiny\.cc/",
        r"s\.id/",
        r"rb\.gy/",
    ],
    "urls": [
        r"https?://",
        r"\bwww\.",
        r"\b[a-z0-9-]+\.(?:com|net|org|fr|de|es|it|nl|uk|co|io|ly|in|ke|br|mx|au|jp|cn|sg|ae|sa|ph|id|tr|pl|ie|se|ar|eg|ma|za|ng|ca|us)/",
    ],
    "chat_links": [r"wa\.me/", r"chat\.whatsapp\.com", r"\bline\.me/", r"\bt\.me/"],
    # international (+CC…) or national (0…) numbers; not dates, times, codes or USSD strings
    "phone_numbers": [
        r"(?<![\w*#])\+\d(?:[ .()-]?\d){7,14}(?![\d*#])",
        r"(?<![\w*#.-])0\d{1,4}(?:[ .-]?\d{2,4}){2,4}(?![\d*#])",
    ],
    "crypto": [
        r"\bbitcoin",
        r"\bbtc\b",
        r"\bethereum\b",
        r"\busdt\b",
        r"\bnft\b",
        r"\bcrypto\w*",
        r"\bkripto\w*",
        r"比特币",
        r"加密货币",
        r"暗号資産",
        r"ビットコイン",
        r"بيتكوين",
    ],
    "forex": [r"\bforex\b", r"\bfx trading\b"],
}

# language -> category -> terms (plain words or phrases; a trailing * = any ending)
LEXICON: dict[str, dict[str, list[str]]] = {
    "en": {
        "alcohol": [
            "beer*",
            "wine",
            "wines",
            "whisky",
            "whiskey",
            "vodka",
            "gin",
            "tequila",
            "liquor",
            "alcohol*",
            "cocktail*",
            "champagne",
            "prosecco",
            "brewery",
            "booze",
            "happy hour",
        ],
        "tobacco": [
            "tobacco",
            "cigarette*",
            "cigar",
            "cigars",
            "vape*",
            "vaping",
            "e-cig*",
            "nicotine",
            "hookah",
            "shisha",
        ],
        "gambling": [
            "casino*",
            "bet",
            "bets",
            "betting",
            "wager*",
            "jackpot*",
            "poker",
            "slots",
            "lottery",
            "sportsbook",
            "roulette",
            "blackjack",
            "bingo",
            "free spins",
        ],
        "political": ["vote for", "election*", "ballot*", "candidate*", "referendum", "re-elect*", "polling station*"],
        "adult": [
            "sexy",
            "sex shop",
            "sex toy*",
            "porn*",
            "xxx",
            "nude*",
            "escort*",
            "erotic*",
            "hookup*",
            "adult content",
        ],
        "cannabis": ["cannabis", "marijuana", "weed", "cbd", "thc", "hemp", "ganja", "kush", "edibles"],
        "loans": ["loan", "loans", "payday", "cash advance", "borrow*", "lending", "instant cash", "credit line"],
        "religious": ["church*", "prayer*", "pray", "jesus", "bible", "quran", "koran", "mosque*", "worship", "sermon"],
        "firearms": ["gun", "guns", "firearm*", "rifle*", "pistol*", "ammo", "ammunition", "handgun*", "shotgun*"],
        "controlled_substances": ["cocaine", "heroin", "opioid*", "meth", "mdma", "ecstasy", "ketamine", "narcotic*"],
        "debt_relief": ["debt relief", "debt consolidation", "debt settlement", "credit repair"],
        "contests": ["contest", "sweepstake*", "giveaway*", "prize draw", "raffle"],
        "medicine": ["prescription*", "viagra", "pharmacy", "pills", "weight loss"],
        "finance": ["invest", "investment*", "stocks", "trading signal*", "returns guaranteed"],
    },
    "fr": {
        "alcohol": [
            "biere*",
            "vin",
            "vins",
            "alcool*",
            "spiritueux",
            "apero*",
            "aperitif*",
            "champagne",
            "rose bien frais",
        ],
        "tobacco": ["tabac", "cigarette*", "cigare*", "vapoteuse*", "nicotine", "chicha"],
        "gambling": [
            "casino*",
            "paris sportif*",
            "pari sportif",
            "jackpot",
            "loterie",
            "grattage",
            "tours gratuits",
            "poker",
        ],
        "political": ["votez", "voter pour", "election*", "candidat*", "scrutin", "referendum", "bureau de vote"],
        "adult": ["sexe", "porno*", "erotique*", "coquin*", "libertin*", "escort*"],
        "cannabis": ["cannabis", "chanvre", "beuh", "cbd", "thc"],
        "loans": ["pret", "prets", "credit*", "rachat de credit*", "emprunt*", "financement"],
        "religious": ["eglise*", "priere*", "dieu", "messe", "mosquee*", "paroisse"],
        "firearms": ["arme a feu", "armes a feu", "fusil*", "pistolet*", "munition*"],
        "controlled_substances": ["cocaine", "drogue*", "heroine"],
        "energy_renovation": [
            "renovation energetique",
            "isolation a 1",
            "pompe a chaleur",
            "maprimerenov",
            "panneaux solaires",
        ],
        "contests": ["concours", "jeu concours", "tirage au sort"],
        "medicine": ["medicament*", "ordonnance"],
    },
    "de": {
        "alcohol": ["bier*", "wein*", "schnaps", "alkohol*", "sekt", "spirituosen"],
        "tobacco": ["tabak*", "zigarette*", "zigarre*", "e-zigarette*", "nikotin"],
        "gambling": [
            "casino*",
            "kasino*",
            "wette*",
            "sportwette*",
            "lotto",
            "gluecksspiel*",
            "glucksspiel*",
            "freispiele",
        ],
        # not "wählen"/"Wahl": they also mean "choose"/"choice" ("Wählen Sie Ihre Größe")
        "political": [
            "bundestagswahl*",
            "landtagswahl*",
            "europawahl*",
            "kommunalwahl*",
            "wahlkampf*",
            "kandidat*",
            "partei*",
            "volksabstimmung",
            "waehlt",
        ],
        "adult": ["porno*", "erotik*", "nackt*", "sexy"],
        "cannabis": ["cannabis", "hanf", "kiffen", "cbd", "thc"],
        "loans": ["kredit*", "darlehen", "sofortkredit*"],
        "religious": ["kirche*", "gebet*", "gott", "gottesdienst*", "moschee*"],
        "firearms": ["waffe*", "gewehr*", "pistole*", "munition"],
        "controlled_substances": ["kokain", "drogen", "heroin"],
        "contests": ["gewinnspiel*", "verlosung*"],
        "medicine": ["rezept*", "medikament*", "apotheke*"],
    },
    "es": {
        "alcohol": ["cerveza*", "vino", "vinos", "alcohol*", "licor*", "tequila", "mezcal"],
        "tobacco": ["tabaco", "cigarrillo*", "puro", "puros", "vapeador*"],
        "gambling": ["apuesta*", "casino*", "loteria*", "tragamonedas", "giros gratis", "quiniela"],
        "political": ["vota por", "votar por", "eleccion*", "candidato*", "partido politico", "referendum"],
        "adult": ["sexo", "porno*", "erotic*", "desnud*"],
        "cannabis": ["cannabis", "marihuana", "mota", "cbd", "thc"],
        "loans": ["prestamo*", "credito*", "financiacion", "dinero rapido"],
        "religious": ["iglesia*", "oracion*", "dios", "misa", "mezquita*"],
        "firearms": ["arma de fuego", "armas de fuego", "pistola*", "municion*", "rifle*"],
        "controlled_substances": ["cocaina", "drogas", "heroina"],
        "contests": ["sorteo*", "concurso*"],
        "medicine": ["medicamento*", "receta medica"],
    },
    "pt": {
        "alcohol": ["cerveja*", "vinho*", "alcool*", "cachaca", "bebida alcoolica"],
        "tobacco": ["tabaco", "cigarro*", "charuto*", "vape"],
        "gambling": ["aposta*", "cassino*", "loteria*", "bet", "rodadas gratis", "jogo do bicho"],
        "political": ["vote em", "votar em", "eleicao", "eleicoes", "candidato*", "partido politico"],
        "adult": ["sexo", "porno*", "erotic*", "nud*"],
        "cannabis": ["cannabis", "maconha", "cbd", "thc"],
        "loans": ["emprestimo*", "credito*", "financiamento*", "consignado"],
        "religious": ["igreja*", "oracao*", "deus", "culto", "missa"],
        "firearms": ["arma de fogo", "armas de fogo", "pistola*", "municao"],
        "controlled_substances": ["cocaina", "drogas", "heroina"],
        "contests": ["sorteio*", "concurso*", "promocao valendo premio*"],
        "telecom_services": ["recarga*", "chip", "plano de celular"],
        "medicine": ["remedio*", "medicamento*"],
    },
    "it": {
        "alcohol": ["birra*", "vino", "vini", "alcol*", "liquor*", "grappa"],
        "tobacco": ["tabacco", "sigarett*", "sigaro*"],
        "gambling": ["scommess*", "casino*", "lotteria", "slot", "gratta e vinci"],
        "political": ["vota", "votate", "elezion*", "candidat*", "referendum"],
        "adult": ["sesso", "porno*", "erotic*"],
        "cannabis": ["cannabis", "canapa", "cbd", "thc"],
        "loans": ["prestit*", "finanziament*", "credito"],
        "religious": ["chiesa*", "preghiera*", "santa messa"],
        "firearms": ["arma da fuoco", "armi da fuoco", "pistol*", "munizion*"],
        "controlled_substances": ["cocaina", "droga", "droghe", "eroina"],
    },
    "nl": {
        "alcohol": ["bier*", "wijn*", "alcohol*", "jenever"],
        "tobacco": ["tabak", "sigaret*", "sigaar*"],
        "gambling": ["gokken", "casino*", "weddenschap*", "loterij*"],
        "political": ["stem op", "verkiezing*", "kandida*"],
        "adult": ["seks", "porno*", "erotiek"],
        "cannabis": ["cannabis", "wiet", "coffeeshop*", "cbd", "thc"],
        "loans": ["lening*", "krediet*", "geld lenen"],
        "religious": ["kerk*", "gebed*", "god"],
        "firearms": ["wapen*", "geweer*", "pistool*"],
        "controlled_substances": ["cocaine", "drugs", "heroine"],
    },
    "pl": {
        "alcohol": ["piwo", "piwa", "wino", "wodka", "alkohol*"],
        "tobacco": ["tyton*", "papieros*"],
        "gambling": ["zaklad*", "kasyno*", "hazard*", "loteria*"],
        "political": ["glosuj*", "wybory", "kandydat*"],
        "adult": ["seks", "porno*", "erotyk*"],
        "cannabis": ["marihuana", "konopie", "cbd", "thc"],
        "loans": ["pozyczk*", "kredyt*", "chwilowk*"],
        "religious": ["kosciol*", "modlitw*", "bog"],
        "firearms": ["bron palna", "pistolet*", "amunicj*"],
    },
    "sv": {
        "alcohol": ["ol", "vin", "sprit", "alkohol*"],
        "tobacco": ["tobak", "cigarett*", "snus"],
        "gambling": ["kasino*", "casino*", "odds", "lotteri*", "vadslagning", "free spins"],
        "political": ["rosta pa", "valet", "kandidat*"],
        "adult": ["porr*", "erotik*"],
        "cannabis": ["cannabis", "marijuana", "cbd", "thc"],
        "loans": ["lan", "snabblan*", "kredit*"],
        "religious": ["kyrka*", "bon", "gud"],
        "firearms": ["vapen", "gevar*", "pistol*"],
    },
    "tr": {
        "alcohol": ["bira*", "sarap*", "raki", "alkol*"],
        "tobacco": ["tutun*", "sigara*", "nargile*"],
        "gambling": ["bahis*", "kumar*", "iddaa", "casino*", "kumarhane*"],
        "political": ["oy verin", "secim*", "aday*", "parti*"],
        "adult": ["seks*", "porno*", "erotik*"],
        "cannabis": ["esrar", "kenevir", "cbd"],
        "loans": ["kredi*", "borc*"],
        "religious": ["cami*", "dua", "namaz", "kilise*"],
        "firearms": ["silah*", "tabanca*"],
    },
    "id": {
        "alcohol": ["minuman keras", "miras", "alkohol*", "arak"],
        "tobacco": ["rokok", "tembakau", "vape"],
        "gambling": ["judi*", "taruhan", "togel", "kasino*", "slot gacor"],
        "political": ["pemilu", "coblos", "pilih nomor", "calon legislatif", "caleg"],
        "adult": ["porno*", "bokep", "seks*"],
        "cannabis": ["ganja", "cbd"],
        "loans": ["pinjaman*", "pinjol", "kredit*", "dana tunai"],
        "religious": ["gereja*", "masjid*", "doa", "sholat"],
        "firearms": ["senjata api", "pistol*"],
    },
    "sw": {
        "alcohol": ["pombe", "bia", "mvinyo"],
        "tobacco": ["sigara", "tumbaku"],
        "gambling": ["kamari", "bet", "jackpot", "beti", "odds"],
        "political": ["piga kura", "kura", "uchaguzi", "mgombea*", "chama cha siasa"],
        "adult": ["ngono"],
        "cannabis": ["bangi"],
        "loans": ["mkopo", "mikopo"],
        "religious": ["kanisa*", "maombi", "mungu", "msikiti*"],
        "firearms": ["bunduki"],
    },
    "ar": {
        "alcohol": ["خمر", "كحول", "بيرة", "نبيذ"],
        "tobacco": ["تبغ", "سجائر", "دخان", "شيشة"],
        "gambling": ["قمار", "مراهنات", "رهان", "يانصيب"],
        "political": ["انتخابات", "مرشح", "صوتوا"],
        "adult": ["إباحي", "جنس"],
        "cannabis": ["حشيش", "قنب"],
        "loans": ["قرض", "قروض", "تمويل"],
        "religious": ["صلاة", "مسجد", "كنيسة"],
        "firearms": ["سلاح", "أسلحة"],
        "forex": ["فوركس", "تداول العملات"],
    },
    "hi": {
        "alcohol": ["शराब", "sharab", "daru", "दारू"],
        "tobacco": ["तंबाकू", "सिगरेट", "gutka", "गुटखा"],
        "gambling": ["जुआ", "सट्टा", "satta", "matka", "लॉटरी"],
        "political": ["चुनाव", "वोट दें", "मतदान", "उम्मीदवार"],
        "adult": ["अश्लील"],
        "cannabis": ["गांजा", "भांग"],
        "loans": ["लोन", "ऋण", "कर्ज"],
        "religious": ["मंदिर", "पूजा", "प्रार्थना"],
        "firearms": ["बंदूक", "हथियार"],
    },
    "zh": {
        "alcohol": ["啤酒", "葡萄酒", "白酒", "酒精", "红酒"],
        "tobacco": ["烟草", "香烟", "电子烟"],
        "gambling": ["赌博", "博彩", "赌场", "彩票", "百家乐"],
        "political": ["选举", "投票", "候选人"],
        "adult": ["色情", "成人", "裸聊"],
        "cannabis": ["大麻"],
        "loans": ["贷款", "借款", "网贷"],
        "religious": ["教会", "宗教", "佛教", "寺庙"],
        "firearms": ["枪支", "枪"],
        "finance": ["理财", "投资", "股票", "基金"],
        "real_estate": ["楼盘", "房产", "买房", "新房"],
        "education": ["培训", "辅导班", "留学"],
        "immigration": ["移民", "签证"],
    },
    "ja": {
        "alcohol": ["ビール", "ワイン", "日本酒", "酒", "焼酎"],
        "tobacco": ["たばこ", "タバコ", "煙草"],
        "gambling": ["カジノ", "ギャンブル", "賭博", "パチンコ", "競馬"],
        "political": ["選挙", "投票", "候補者"],
        "adult": ["アダルト", "エロ", "出会い系"],
        "cannabis": ["大麻"],
        "loans": ["ローン", "融資", "借入", "キャッシング"],
        "religious": ["教会", "宗教"],
        "firearms": ["銃"],
    },
    "ms": {},
}

_NO_SPACES = re.compile(r"[\u0600-\u06ff\u0900-\u097f\u3040-\u30ff\u4e00-\u9fff]")


def fold(text: str) -> str:
    """Lower-case and strip accents (é → e, ş → s), so that spelling variants match."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).replace("ı", "i").replace("ł", "l")


def _term(term: str) -> str:
    stem = term.endswith("*")
    body = re.escape(fold(term.rstrip("*"))).replace(r"\ ", r"\s+")
    if _NO_SPACES.search(term):
        return body
    return r"(?<!\w)" + body + (r"\w*" if stem else r"(?!\w)")


@lru_cache(maxsize=256)
def _patterns(languages: tuple[str, ...]) -> dict[str, re.Pattern]:
    terms: dict[str, list[str]] = {}
    for lang in dict.fromkeys(("en", *languages)):
        for category, words in LEXICON.get(lang, {}).items():
            terms.setdefault(category, []).extend(_term(w) for w in words)
    for category, regexes in _ANY.items():
        terms.setdefault(category, []).extend(regexes)
    return {category: re.compile("|".join(parts)) for category, parts in terms.items()}


def detect(text: str, languages: list[str] | tuple[str, ...] = ()) -> dict[str, str]:
    """Categories found in `text` → the first matching words, for the languages given (plus English)."""
    folded = fold(text)
    found: dict[str, str] = {}
    for category, pattern in _patterns(tuple(languages)).items():
        m = pattern.search(folded)
        if m:
            found[category] = m.group(0).strip()
    return found
