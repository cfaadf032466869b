"""Given names that are the same name: English and Spanish nicknames and their counterparts.

Each group's first name is the canonical one; ``canonical_given_name`` maps every name of a
group to it, so "Pepe García" and "José Garcia" get the same name key. A nickname shared by
two names (Beto: Alberto or Roberto; Fito: Adolfo or Rodolfo) is left out: it would make
strangers look alike.
"""

from __future__ import annotations

GROUPS: tuple[tuple[str, ...], ...] = (
    ("robert", "roberto", "bob", "bobby", "rob", "robbie"),
    ("william", "guillermo", "will", "bill", "billy", "willy", "memo"),
    ("jose", "joseph", "pepe", "pepito", "chepe", "joe", "joey"),
    ("guadalupe", "lupe", "lupita"),
    ("jesus", "chuy", "chucho"),
    ("francisco", "paco", "pancho", "frank", "frankie", "cisco"),
    ("elizabeth", "liz", "lizzie", "beth", "betsy", "betty"),
    ("margaret", "maggie", "peggy", "meg"),
    ("richard", "ricardo", "rick", "ricky", "dick"),
    ("james", "jaime", "jim", "jimmy"),
    ("michael", "miguel", "mike", "mickey"),
    ("katherine", "catherine", "kate", "katie", "kathy", "cathy"),
    ("ignacio", "nacho"),
    ("alejandro", "alexander", "alex"),
    ("eduardo", "edward", "ed", "eddie", "lalo"),
    ("enrique", "henry", "quique", "hank"),
    ("manuel", "manolo", "manny"),
    ("dolores", "lola"),
    ("concepcion", "concha", "conchita"),
    ("rosario", "chayo"),
    ("gregorio", "goyo"),
    ("antonio", "anthony", "tony", "tono"),
    ("daniel", "dan", "danny"),
    ("patricia", "patty", "paty", "trish"),
    ("susana", "susan", "sue", "susie"),
    ("teresa", "theresa", "tere"),
    ("rebecca", "becky"),
    ("samuel", "sam", "sammy"),
    ("benjamin", "ben", "benny"),
    ("christopher", "chris"),
    ("nicolas", "nicholas", "nick", "nico"),
    ("esteban", "steven", "stephen", "steve"),
    ("tomas", "thomas", "tom", "tommy"),
    ("andres", "andrew", "andy"),
    ("pedro", "peter", "pete", "perico"),
    ("david", "dave"),
    ("carlos", "charles", "charlie", "chuck"),
    ("mercedes", "meche"),
    ("graciela", "chela"),
    ("rafael", "rafa"),
    ("fernando", "nando"),
    ("salvador", "chava"),
    ("santiago", "santi", "chago"),
    ("jennifer", "jen", "jenny"),
    ("deborah", "debbie", "deb"),
    ("victoria", "vicky"),
)

NICKNAMES: dict[str, str] = {name: group[0] for group in GROUPS for name in group}


def canonical_given_name(folded: str) -> str:
    """The group's name for an already folded given name (itself when it is in no group)."""
    return NICKNAMES.get(folded, folded)
