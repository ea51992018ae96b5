"""Every tunable of the engine: a named constant, its default, and why it has that value.

The engine takes no environment variables (kyc/settings.py does that for the service); these
are the engine's own calibration. Each value is part of ENGINE_VERSION (version.py).
"""

from __future__ import annotations

# --- Result -----------------------------------------------------------------------------

# Matches scoring below this are not reported. Calibrated on cases.csv (F1) and on Faker
# non-listed names (false alerts); the service's KYC_DEFAULT_THRESHOLD defaults to it.
DEFAULT_THRESHOLD = 0.8

# --- Normalisation ----------------------------------------------------------------------

# Names are cut to this many characters before anything else: a 10,000-character "name"
# is junk input and must not cost the batch its speed.
MAX_NAME_CHARS = 200

# Words of at least this many letters within one edit of a longer legal-form word
# ("Aktiengeselschaft", a field cut at "Compan") are read as that word.
MIN_LEGAL_TYPO_LEN = 6

# Inside a whole legal phrase, a word of the phrase of at least this many letters one edit
# off ("Joynt Stock Company", "Joint Stok Company"), its first letter kept, is the word.
MIN_LEGAL_PHRASE_TYPO_LEN = 4
# ... and one of at least this many letters two edits off ("Aktsiomnernod Obshchestvo",
# "Ogranicehnnoi"): a long word keeps enough of itself, and the phrase must take it in.
MIN_LEGAL_PHRASE_TWO_TYPO_LEN = 8

# A name's last word (after another) of at least this many letters, two edits from a
# legal-form word that ends names on its own (normalize.RETYPED_LEGAL_WORDS: company,
# corporation, incorporated, limited), the first letter kept: the legal form, where a
# legal form stands ("Sina Bank Compsanuy"). Shorter words two edits off are other words
# ("command").
MIN_LEGAL_TWO_TYPO_LEN = 8

# Inside a legal phrase ("Obshch. s ogranichennoi otvet.", "Aktsio. Obshchestvo"), a word
# of MIN_CUT_LEGAL_WORD letters or more may be cut after MIN_LEGAL_PREFIX_LEN letters: the
# rest of the phrase says what it is.
MIN_CUT_LEGAL_WORD = 7
MIN_LEGAL_PREFIX_LEN = 4

# A long legal-form word with a space inside ("Com Pany", "Lia Bility"), each half at
# least this long, is the word.
MIN_LEGAL_HALF_LEN = 3

# At most this many tokens of a name take part in scoring (the longest list names have ~12).
MAX_NAME_TOKENS = 12

# --- Token similarity -------------------------------------------------------------------

# Token pairs below this similarity count as unmatched (no partial credit for unrelated
# tokens that share a few letters). Just above 0.7: three edits in ten letters is too far
# (on cases.csv it adds six false matches and no true one).
MIN_TOKEN_SIM = 0.701

# Tokens that begin with different letters match by spelling only from this similarity
# (one edit in four letters); below it, only by a shared sound key or skeleton.
MIN_OTHER_INITIAL_SIM = 0.75

# Shorter tokens match by a doubled letter or two swapped neighbours only, at this.
SHORT_TYPO_SIM = 0.85

# ... a doubled letter: at most this many letters more in one token ("Yyu" / "Yu"); a
# letter repeated beyond ("AAAA..." / "AA") is another string.
MAX_DOUBLED_LETTERS = 2

# ... or by one letter added or dropped, or changed, after the same first letter ("Umr" /
# "Umer"; "Tim" / "Tom", "Ivan" / "Iwan"), from this length: at this similarity, just
# above MIN_TOKEN_SIM; a changed letter only where the rest of the name is rare
# (CHANGED_PART_MIN_REST).
MIN_CHANGED_TOKEN_LEN = 3
SHORT_CHANGE_SIM = 0.72

# A part two typing errors away from the other name's part (OSA distance 2: "Merkur" /
# "Merkel", "Sechev" / "Sechin", "Mihel" / "Milei"), both beginning alike, of at least
# MIN_RETYPED_LEN letters the longer: too far for a spelling match (MIN_TOKEN_SIM), it is
# RETYPED, found at its edit similarity (1 - 2 / length: a longer part keeps more of
# itself), and counts only as the rest of the name allows (RETYPED_FULL_REST below). Never
# in blocking: it completes a name found by its other parts, it finds none.
MIN_RETYPED_LEN = 5
RETYPED_MAX_EDITS = 2
# ... its first letter changed, dropped or added ("Ssad" / "Asad", "Rost" / "Troost"): from
# this length, the longer (RETYPED_FIRST_FULL_REST asks more of the rest of the name).
MIN_RETYPED_FIRST_LEN = 4

# Two tokens with the same transliteration-tolerant phonetic key (Yevgeny / Evgeniy,
# Poutine / Putin) are this similar at least.
PHONETIC_SIM = 0.95

# Two tokens with the same consonant skeleton (vowels dropped: Arabic script written
# without short vowels, Mhmd / Muhammad) are this similar at least.
SKELETON_SIM = 0.9

# The same name in two romanisation systems (the same romanisation key: "Werchnjaja" /
# "Verkhnyaya", "Rabinowitz" / "Rabinovich") is this similar at least.
ROMAN_SIM = 0.9

# ... and a part of this length or more one glide letter apart (j, y, i; w, v: "Juri" /
# "Yuri", "Iwan" / "Ivan"; normalize.glide_folded); a short part changed otherwise may be
# another name ("Tim" / "Tom", "Zhao" / "Shao"), weighed by the rest of the name.
MIN_ROMAN_TOKEN_LEN = 4

# A given name and its nickname (Theodore / Ted, William / Bill) are this similar.
NICKNAME_SIM = 0.9

# A name transliterated from another script (Arabic, Hebrew: vowels guessed) against a
# Latin name: the same consonant skeleton is at least this similar whatever the vowels
# (just above MIN_TOKEN_SIM: it completes a match of several parts, it cannot carry one
# word alone, "МАКС" / "MAGUS").
CROSS_SCRIPT_SKELETON_SIM = 0.75

# ... and at least this where the transliterated token is the Latin one with vowels left
# out ("mhmd" / "muhammad", "mntzri" / "montazeri"): a script without short vowels (Arabic,
# Persian, Hebrew) leaves them unwritten, which is no guess but the same letters. (0.85
# found "محمد کرمی" / "Mohammad KARAMI", held at 0.74 as if each part were misspelt, but
# made five Faker false alerts, "محمدرضا جنتی" / "MOHAMMADI, Mohammad Reza": left at 0.8.)
VOWELS_DROPPED_SIM = 0.8

# Arabic, Persian and Hebrew write a long vowel with the letter of a consonant (waw u/w,
# yeh i/y): a transliteration guesses which ("طیب" tib / Tayeb, "عادل" aadl / Adel, "نور"
# nur / Noor). Across scripts, a query token with the list token's consonants, w and y left
# out on both sides (normalize.bare_consonants), the same first sound, spelt as an abjad
# reads (a, i, u only) where the list token writes more vowels or a w or y inside, is
# vowel-blind (CROSS_SCRIPT_SKELETON_SIM) from this many such consonants: one alone ("ali" /
# "eli") links too much.
MIN_MATRES_CONSONANTS = 2

# A list token's z met by a query token's d or dh, as Persian and Urdu sound ض and ذ ("فضل"
# fdl / Fazal; compare/names.read_alike): from this many consonants. Two ("رضا" rda / Reza)
# also read a Hebrew "רביד" rvid as Reza, and a 300,000-customer batch raised two alerts
# more on names mixing scripts ("רביד محمدی" / "MOHAMMAD REZA MOHAMMADI").
MIN_READ_Z_CONSONANTS = 3

# A token is written with few vowels (normalize.vowel_poor: it finds list tokens by its
# consonants alone, and counts as their spelling without vowels, VOWELS_DROPPED_SIM) when its
# vowels, times this, are fewer than its consonant sounds: "mhmd", "mntzri", "shrif", as a
# script without short vowels writes them; not "omar", "zhang" or "timur".
VOWEL_POOR_RATIO = 2

# Skeletons shorter than this collide too often to count (Mary / Moore / Maria).
MIN_SKELETON_LEN = 3

# Phonetic or skeleton keys count only when the edit similarity is at least this (short
# keys collide by chance: Vita / Fuad share "FT").
MIN_KEY_EDIT_SIM = 0.6

# Tokens with the same vowel-blind shape (consonant classes kept, every vowel "a": Perez /
# Biriz) count as skeleton matches whatever their edit similarity, from this shape length.
MIN_SHAPE_LEN = 6

# ... or at least this when the phonetic key has LONG_KEY_LEN+ sounds.
MIN_LONG_KEY_EDIT_SIM = 0.5
LONG_KEY_LEN = 5

# A single letter against a token starting with it ("V." / "Vladimirovich").
INITIAL_SIM = 0.75

# Tokens this short match only exactly (or as an initial): one edit in "Li" is a new name.
MIN_FUZZY_TOKEN_LEN = 5

# --- Name score -------------------------------------------------------------------------

# Penalty per unit of rarity-weighted unmatched share when BOTH names have unmatched parts
# (a different party: "X TRADING CO" vs "Y TRADING CO").
BOTH_UNMATCHED_PENALTY = 1.6

# Penalty per unit of unmatched share on one side only (a dropped middle name or a shorter
# alias is normal, so this is small).
ONE_SIDE_UNMATCHED_PENALTY = 0.2

# Penalty per unit of weighted similarity shortfall of parts matched inexactly (typos,
# transliteration variants): milder than a missing part, which means a different name.
FUZZY_PART_PENALTY = 0.8

# Added to FUZZY_PART_PENALTY when the match rests on one distinguishing part only: a
# single misspelt word is a coincidence more often than a variant.
LONE_FUZZY_PART_PENALTY = 0.5

# ... but not for a company's one distinctive word typed wrong (a word no list holds, its
# first letter kept, the longer of this many letters), beside legal forms all found
# (algorithm.py's lone_part_deficit): eight letters with two typing errors keep six. (Seven
# let a real name no list holds pass for a typo of a list word: "Poirier SARL" / "Pointer
# LLC", a false alert of a customer batch.)
MIN_TYPO_WORD_LEN = 8

# Added to FUZZY_PART_PENALTY when parts are also missing on either side.
FUZZY_WITH_MISSING_PENALTY = 1.6

# A query whose parts are all this short is written in syllables (Chinese, Korean,
# Vietnamese); a syllable of the list name it lacks then costs this much more per unit of
# missing share.
SYLLABLE_MAX_LEN = 4
SYLLABLE_MISSING_PENALTY = 0.5

# Penalty per part of a name written in Han or Hangul matched only inexactly against a
# name of syllables that is not the same syllables in another romanisation ("cheng" /
# "chang": algorithm.py's other_syllable): one syllable in place of another is another
# character. Enough to take a name otherwise alike (~0.9) below the threshold.
OTHER_SYLLABLE_PENALTY = 0.2

# Penalty per name part in place of another, on top of its rarity-weighted share.
SUBSTITUTED_PART_PENALTY = 0.1

# A word split in two ("Patr ushev" / "Patrushev"): the halves written together must be at
# least this alike to the whole word; they then match it at their similarity, at most
# SPLIT_WORD_SIM (a space where the other name has none is a small difference).
MIN_SPLIT_WORD_SIM = 0.85
SPLIT_WORD_SIM = 0.95

# A word cut short ("Revol." / "Revolutionary", "Agro." / "Agropecuaria"): a part left
# over of at least MIN_ABBREVIATION_LEN letters with which a left-over part of the other
# name, ABBREVIATION_MIN_CUT letters longer at least, begins, matches it at this.
MIN_ABBREVIATION_LEN = 3
ABBREVIATION_MIN_CUT = 2
ABBREVIATION_SIM = 0.8

# Initials standing for words ("JC" / "Jean-Claude", "US" / "United States"): a part of 2
# to MAX_INITIALISM_LEN letters, at least this rare in the lists (a frequent short part,
# "li" or "an", is a name syllable, not initials).
MAX_INITIALISM_LEN = 4
MIN_INITIALISM_WEIGHT = 0.8

# ... and where the initials stand for the whole other name (legal forms aside), of
# ACRONYM_MIN_LEN words or more, between names not known to be persons', they are the
# organisation's acronym ("PLA" / "People's Liberation Army"): this similar, as a spelling.
# Three words at least: two initials say too little.
ACRONYM_MIN_LEN = 3
ACRONYM_SIM = 0.9

# Penalty per part one name repeats ("Abdul Kabir Abdul Jan") where the other gives another
# part ("Abdul Kabir Mohammad Jan"): a name part in place of another, the repeat hiding it.
REPEATED_PART_PENALTY = 0.2

# A short part one letter off (SHORT_CHANGE_SIM) is a typo only when the rest of the name
# matched weighs at least this (a rare part: "Cook", unlisted, weighs 1.0; "Smith", in
# seven list names, 0.83); else it costs this much: another person.
CHANGED_PART_MIN_REST = 0.85
CHANGED_SHORT_PART_PENALTY = 0.3

# Penalty per distinctive company word in place of another list word of its length that
# sounds otherwise ("Kings" / "Nings LLC", "Mining" / "Dining Supplies": algorithm.py's
# other_company_word): enough to take a name otherwise alike (~0.95) below the threshold.
OTHER_COMPANY_WORD_PENALTY = 0.25

# ... where the word carries the company's identity: the other distinguishing parts found
# (not countries: a place, not a name) weigh less than this, as RETYPED_FULL_REST: less
# than one rare part ("Islamic Call Committee" rests on "call"; "Cardinal Health" does
# not: "cardinal", in five list names, weighs 0.86, and cases.csv calls "Cardinal Wealth"
# the same company). On 2,863 company names with one keyboard substitution anywhere in a
# word (first letter included), 0.8 costs 6 found (0.958 -> 0.956) for 27 points of kind
# 8a; 1.5, 10 (-> 0.955) for 44 points; no bound, 14 (-> 0.953) for 60 points.
OTHER_WORD_MAX_REST = 0.8

# ... and where the list's word is a word the lists use in three names or more ("mining",
# "rail"), not a one-off brand ("Vitol", "Elevance": unlisted, or one company's name listed
# twice), which a real word one letter off misspells or imitates ("Vital Holding",
# "Elegance Health": cases.csv calls them the same company). Two names are mostly one
# name listed twice: of the words of exactly two company names in the lists, 72 % are in
# two copies of one name (the same company on two lists), 30 % of those of three names.
# A token's rarity weight is 1 - ln(df) / ln(names): 0.94 in two names, 0.90 in three,
# for today's ~88,000 names (this bound falls between the two from 6,000 to 900,000
# names). The query's word may be any list word: of the single-letter typos in the rarest
# word of the lists' company names, 0.44 % make another list word that sounds otherwise.
KNOWN_WORD_MAX_WEIGHT = 0.92

# A part two typing errors off (RETYPED) is a typo as far as the rest of the name carries
# the identity: the other parts found weigh RETYPED_FULL_REST (a rare part, or two common
# ones: "Angela", "Mohammed bin", "Imran") or more, and the part costs only its similarity
# shortfall; each unit of weight less costs this much more ("Igor" alone, 0.5, beside
# "Sechev" / "Sechin"; "John", 0.63, beside "Doe" / "Down"): a common given name beside a
# family name two letters off is another family more often than a typo. (1.0 measured
# the same Faker false alerts and kind-1 recall, two cases.csv matches fewer.)
RETYPED_FULL_REST = 0.8
RETYPED_PART_PENALTY = 0.4
# ... and a part whose first letter changed pays besides its shortfall from this weight
# (two rare parts and a common one: "Niels Oscar", "Haji Khan Zarkari").
RETYPED_FIRST_FULL_REST = 1.5

# Penalty per number in place of another ("Leasing 3" / "Leasing 6"), beside the
# unmatched shares the two numbers already cost: small, so that a long name agreeing on
# every rare word stays a match (cases.csv calls "Goldman Sachs Mortgage Loan Trust
# 2004-1" / "2004-2" one trust).
OTHER_NUMBER_PENALTY = 0.1

# Penalty per initial in place of another ("William G. Frost" / "William W. Frost").
OTHER_INITIAL_PENALTY = 0.1

# Penalty per country found in one company name only ("Banco Santander Chile" / "Banco
# Santander"): a national branch is another legal entity.
UNMATCHED_COUNTRY_PENALTY = 0.2

# Penalty when the names put the same parts on the two sides of "bin" in opposite order
# (Muhammad bin Salman / Salman bin Muhammad): father and son, never one person.
LINEAGE_SWAPPED_PENALTY = 0.5

# A name whose matched parts carry less rarity weight than this (in units of one rare
# token) is weak evidence: a lone common first name, a legal form.
MIN_MATCHED_WEIGHT = 0.75

# A whole listed person name found within a longer query ("Mohammad Yaqoub Haqqani" /
# "MOHAMMAD YAQOUB") is not weak evidence when its parts weigh at least this: one rare
# part and more (two common given names, "Wali Mohammad", stay weak).
WHOLE_NAME_MIN_WEIGHT = 1.0

# Parts weighing at least this count as distinguishing evidence (legal forms and particles
# such as "al" or "bin" weigh less).
STRONG_PART_WEIGHT = 0.35

# A one-part query ("Putin") is evidence enough when its part matches at least this well.
LONE_PART_MIN_SIM = 0.85

# How far below the threshold weak evidence is capped.
WEAK_EVIDENCE_CAP = 0.6

# Token weight: log(names / document frequency), clipped to this range, then divided by
# the upper bound, so a token unique in the lists weighs 1 and "mohammed" far less.
MIN_TOKEN_WEIGHT = 0.25
RARE_TOKEN_DF = 1  # document frequency of a token that weighs 1.0

# Generic words of company names and legal forms: low weight whatever their rarity.
GENERIC_TOKEN_WEIGHT = 0.2

# Whole-name similarity with spaces removed (joined and split words: "Abdulrahman" /
# "Abdul Rahman") replaces the token score when it is higher and at least this much.
MIN_JOINED_SIM = 0.92

# Two names of as many parts, each part equal or a typing error that keeps its first letter,
# at most TYPED_NAME_MAX_EDITS errors in all (Damerau) in a name of MIN_TYPED_NAME_LEN letters
# or more, score 1 - errors / letters (typed_name) at least: two typos in a long name are
# still that name ("Ibrhwaim Mohammed Hassan"), whatever the parts' own rules say of one
# part two letters off. Not against a contradiction, a changed short part beside a common
# rest (Tim / Tom Cook), or a query not typed in Latin letters (a transliteration's
# letters are no typing). 12 letters: 1 - 2 / 12 = 0.83, above the default threshold;
# shorter names two letters apart are another name too often ("Igor Sechin" / "Igor
# Sechev" is ten letters; at ten, a company's one word beside a legal form alerts:
# "Walker Group" / "WAGNER GROUP", "Poirier SARL" / "POINTER LLC"). A part typed is no
# list word ("Omar Mohamed" / "Mohamed Osman" are two names); a canonical list part is
# typed as any of its spellings ("Mhoammed" / "Mohammed", written "muhammad").
MIN_TYPED_NAME_LEN = 12
TYPED_NAME_MAX_EDITS = 2

# Two names that are the same Korean or Chinese syllables in another romanisation ("KIM
# Jong Un" / "Gim Jeong Eun" / 김정은, "Xi Jinping" / "Hsi Chin-ping") score this at least:
# a match, a little below an exact one.
SYLLABLE_NAME_SIM = 0.9

# ... when the list name's parts weigh at least this much together (or, for a query in
# Latin letters of two parts or more against a list name of two or more, whatever they
# weigh; see below): Korean and Chinese names repeat a few syllables, and a common one
# ("KIM Yong Chol", 1.67; "WANG Ssu", 1.54) in its own script, as a Korean or Chinese book
# writes its customers, is a namesake more often than the listed person ("KIM Jong Un",
# 1.9; "XI Jinping", 1.8). A query in Latin letters is held to what its exact spelling
# would score: "Gim Yeongchol" is "KIM Yong Chol" as much as "Kim Yong Chol" is; one Latin
# word is no name in syllables ("Joseph" / "SEP CO.", "Girard" / "GIRALT").
SYLLABLE_NAME_MIN_WEIGHT = 1.75

# --- Qualifiers (refine a name match; never create one) ---------------------------------

BIRTH_DATE_SAME = 0.05  # same full date
BIRTH_DATE_SAME_YEAR = 0.02  # same year, the rest unknown on one side or equal as given
BIRTH_DATE_ONE_OFF = -0.02  # one component differs (typo, a year off)
BIRTH_DATE_CONTRADICTS = -0.12  # clearly a different date

NATIONALITY_MATCH = 0.03
NATIONALITY_MISMATCH = -0.06

# A full birth date and a nationality that both contradict, on a name whose matched parts
# weigh less than IDENTITY_RARE_WEIGHT (common parts: "Muhammad Faysal" about 1.0; two
# rare ones 2.0): this much more, so that the name falls below the threshold.
IDENTITY_CONTRADICTED = -0.08
IDENTITY_RARE_WEIGHT = 1.8
# ... or on a name of common parts alone, however many: none of its matched parts weighs
# IDENTITY_RARE_PART_WEIGHT (a part of about 17 list names or fewer; "Dmitri Alekseyevich
# LEBEDEV" or "KIM Jong Man" weigh 1.8 and more in three common parts, and are namesakes of
# many as surely as "Muhammad Faysal").
IDENTITY_RARE_PART_WEIGHT = 0.75

# An individual queried against an organisation (or the reverse).
ENTITY_TYPE_MISMATCH = -0.15

# Qualifiers apply only to pairs whose name score reaches this: they cannot lift a poor
# name into a match by themselves.
QUALIFIER_MIN_NAME_SCORE = 0.5

# --- Blocking ---------------------------------------------------------------------------

# Tokens found in more list names than this are left out of token blocking (they would
# bring thousands of candidates each); whole-name and token-pair keys cover them.
MAX_BLOCKING_DF = 150

# Candidates kept per query after the cheap blocking score, best first.
MAX_CANDIDATES = 40

# Blocking: links no stronger than a short part one letter off (SHORT_CHANGE_SIM: "Tim" /
# "Tom", "Umr" / "Umer") count toward a name only where the query's other parts already
# found this much rarity weight in it (below CHANGED_PART_MIN_REST, what scoring asks of
# the rest of the name: the two weights are not measured alike). Alone they linked each
# short part to dozens of list tokens: a third more candidates, all rejected by scoring.
WEAK_LINK_SIM = SHORT_CHANGE_SIM
WEAK_LINK_MIN_REST = 0.6

# ... but names in which the whole query is found (WHOLE_NAME_BLOCK_SHARE of its weight,
# variant spellings at their similarity) are all kept, up to this many: a common name
# matches every listed name that holds it, and blocking must not pick among them.
MAX_WHOLE_QUERY_CANDIDATES = 100

# A query no list name shares two parts with keeps this many one-part names (its best) as
# a fallback: its other part may be a spelling no key links. Few, as most such queries are
# simply not listed and each candidate costs scoring time.
FALLBACK_CANDIDATES = 3

# ... and only names whose one part carries at least this share of the query's weight (a
# rare part, not a common given name).
FALLBACK_MIN_BLOCK_SCORE = 0.4

# ... of which at most this many names of one entry (its aliases).
NAMES_PER_ENTRY = 3

# Candidates whose blocking score (matched rarity weight share of the query) is below this
# are dropped before scoring.
MIN_BLOCKING_SCORE = 0.3

# ... or a list name of two parts or more is found whole: this share of its weight, with
# the similarity of variant spellings (Hassan / Hasan is 0.83 of a part).
WHOLE_NAME_BLOCK_SHARE = 0.8

# Tokens at least this long also get a stem key: their first this-many letters.
STEM_KEY_LEN = 5

# Query tokens at least this long also get two-deletion keys (list tokens one).
MIN_DOUBLE_DELETION_LEN = 7

# Two typing errors in one long word ("Sacvhneko" / "Savchenko", "Nodikonbank" /
# "Novikombank"): list tokens of at least MIN_TWO_ERROR_LIST_LEN letters also get their
# two-deletion neighbourhood as keys, met by the query token, its one- and two-deletion
# neighbourhood when it has at least MIN_TWO_ERROR_QUERY_LEN letters and no closer
# neighbour (token similarity then decides, at MIN_TOKEN_SIM).
MIN_TWO_ERROR_LIST_LEN = 7
MIN_TWO_ERROR_QUERY_LEN = 6

# An initial weighs at most this: it narrows a match, it does not make one.
INITIAL_WEIGHT = 0.3

# Tokens at least this long also get deletion neighbourhoods (one deletion) as keys.
MIN_DELETION_KEY_LEN = 4

# A token of at least MIN_SEGMENTED_LEN letters that matches nothing is tried as list words
# of MIN_SEGMENT_LEN+ letters run together, three to MAX_SEGMENTS of them (a company name
# written without spaces, "MARONDERAMAPLELEAFFARM").
MIN_SEGMENTED_LEN = 10
MIN_SEGMENT_LEN = 3
MAX_SEGMENTS = 8
# A query token of MIN_RESEGMENT_LEN+ letters that is no list token is read as the list
# words it is made of where it is nothing but such words run together ("BASERImohammad",
# "Mohamedourjman", "BANDARIMAMPETROCHEMICALCOMPANY": matching/segmentation.py), two to
# MAX_RESEGMENT_WORDS of them, each at most MAX_SEGMENT_WORD_LEN letters (longer list
# tokens are run-together names themselves). Shorter tokens are left alone: two list
# syllables make up too many of them (eight letters still hold two names, "SA'IDmajd",
# "Rukanabd").
MIN_RESEGMENT_LEN = 8
# A query word of at least MIN_RETYPED_LEGAL_LEN letters that no list holds, two typing
# errors or fewer from a legal-form word that ends company names on its own or a long word
# of an English legal phrase (segmentation.RETYPED_LEGAL_TARGETS: "Lomitee", "Limie",
# "Comopay"), its first letter kept, is read as that legal form: a company's legal words
# are few and known, so a word that close to one and no list word is that word typed
# twice. Shorter words two edits off a seven-letter word keep too little of it. The same
# length for a word right after a legal phrase's word, two typing errors from the phrase's
# next word ("Joint Stciok": segmentation._legal_phrase_words).
MIN_RETYPED_LEGAL_LEN = 5
# ... list words of this many letters or more (and the links "al", "of", "abu", "co"...).
MIN_RESEGMENT_WORD_LEN = 4
MAX_RESEGMENT_WORDS = 12
# ... and list words of one to three letters ("VTBREGISTRARCLOSED", "AOKAZANSKIIVERTOLETNYI
# ZAVOD", "AMPROKHOROV..."), each counted as SHORT_SEGMENT_WORD_COST words so that longer
# words win wherever they spell the token, and only in a cut whose words of
# MIN_RESEGMENT_WORD_LEN+ letters spell MIN_LONG_WORDS_SHARE of its letters.
SHORT_SEGMENT_WORD_COST = 2.0
MIN_LONG_WORDS_SHARE = 0.6
MAX_SEGMENT_WORD_LEN = 24
# Segmentations remembered per index (unlisted long tokens are few; a bound all the same).
MAX_REMEMBERED_SEGMENTS = 100_000

# A query word of MIN_CUT_WORD_LEN+ letters that is no list token may be a word cut short
# ("Insu." / "Insurance", "Revol." / "Revolution"): it is linked to the list tokens it
# begins (ABBREVIATION_MIN_CUT letters longer at least) as a weak link (WEAK_LINK_SIM), so
# it adds to a name only beside the query's other words found in it, as scoring's
# abbreviation rule asks for a word in common. A cut that begins more than
# MAX_CUT_WORD_LINKS list tokens says too little to be worth the links.
MIN_CUT_WORD_LEN = 4
MAX_CUT_WORD_LINKS = 50

# A given name run into the family name ("PLYSHEUSKIihar", "Andreinikolaevich") is one
# letter-count far from its longer half, so keys link it there weakly and it is not tried
# as two words (only tokens with no neighbour are). An unlisted token of at least
# MIN_JOINED_NAME_LEN letters whose closest list token is below JOINED_NAME_BEST_SIM is
# tried as two list words too, each of MIN_JOINED_HALF_LEN letters or more (shorter
# halves split most unlisted words into two listed syllables).
MIN_JOINED_NAME_LEN = 8
MIN_JOINED_HALF_LEN = 4
JOINED_NAME_BEST_SIM = 0.85

# A query word of MIN_RETYPED_LINK_LEN+ letters that is no list token may be two typing
# errors off one that no key reaches ("Mphakmad" / "Muhammad", "Vwela" / "Varela"): it is
# linked to the list tokens of its first letter within RETYPED_MAX_EDITS (OSA) as a weak
# link (RETYPED_LINK_SIM, below WEAK_LINK_SIM), so it adds to a name only where the query's
# other parts already found it, and scoring's RETYPED rule decides (matching/
# retyped_links.py). Four letters: two errors in a five-letter word (MIN_RETYPED_LEN, the
# longer, as scoring asks) may leave four ("Wkrd" / "World"). A word with more than
# MAX_RETYPED_LINKS such neighbours says too little to link (most words have none or one;
# a five-letter word of a common first letter has dozens, "Arhel" 45 with "Aurel", and
# its weak links add only to the names its other parts found: 30 lost such given names).
MIN_RETYPED_LINK_LEN = 4
MAX_RETYPED_LINKS = 100
RETYPED_LINK_SIM = 0.7

# Token pairs found in more list names than this are not blocking keys either.
MAX_PAIR_DF = 400

# Identifier values shorter than this (after normalisation) are too ambiguous to match on.
MIN_IDENTIFIER_LEN = 5

# The index remembers at most this many query-token -> list-token links across chunks.
MAX_CACHED_TOKEN_LINKS = 3_000_000
