"""Everyday English words that say little about *which* career topic a question is about.

IDF over a few dozen entries cannot tell that "country" or "half" is an ordinary word: it sees
it once and calls it rare. These words keep a reduced weight in matching. Domain words
(residency, burnout, mentor, ...) are deliberately absent.
"""

COMMON_WORDS = frozenset(
    """
    able absolutely accept across act action actual add admit afraid afternoon age ago agree
    ahead allow almost alone along already alright always amazing amount angry annoying another
    answer anymore anyway anywhere apart appear area arm around arrive aside asked attention
    available average avoid aware away awful back bad badly bag base basic bear beat beautiful
    became because become becoming bed begin beginning behind believe below beside best better
    between beyond big bigger biggest black blue body book born both bother bottom box boy break
    bring brother brought build building built busy buy call called came car care careful carry
    case cause certain certainly chance change changed cheap check child choose city class clear
    clearly close closer cold come comes coming common complete completely concern confused
    consider continue control cool correct cost could country couple course cover crazy create
    cut daily damn dark date day days dead deal dear decide deep definitely did die different
    difficult dinner direction dirty do does dog done door double doubt down dream drive drop
    during each early easily easy eat either else end enough entire entirely especially even
    evening event ever every exactly example except excited expect expensive experience explain
    extra eye eyes face fact fail fair fall false far fast father fear feel feeling feels felt
    few fight figure fill final finally find fine finish finished first fit five fix follow food
    foot forever forget form forward found four free friend friends front full fully fun funny
    future game gave general generally get gets getting girl give given gives giving glad go goal
    goes going gone good great green ground group grow guess guy guys half hand handle hands hang
    happen happened happening happens happy hard hardly hate head hear heard heart heavy hell
    hello help high him himself hit hold home honest hope horrible hot hour hours house huge
    human hurt idea imagine important impossible include including indeed inside instead interest
    interested involved issue issues item job join joke keep kept kid kill kind knew know known
    large last late med field fields area areas lately later least leave left less let level lie life light likely line list
    listen little live lived lives living long look looked looking lose losing lost loud love
    low lucky mad made main mainly major make makes making man manage many matter maybe mean
    means meant meet mind mine minute minutes miss mistake moment month months more morning
    mostly mother move moved moving much myself name near nearly necessary need needed needs
    never new news next nice night nobody none normal nothing notice number obviously odd offer
    often old once open opinion order others otherwise outside paper part particular past pay
    people perfect perhaps person personal pick picture piece place plan play point possible
    possibly pretty probably problem problems proper pull push put quite rather reach read ready
    real realize reason recent recently red remain remember rest result return right road room
    round rule run running sad safe said same save saw saying scared school second see seem
    seemed seems seen self send sense serious set seven several shall short show shut sick side
    simple simply since single sit situation six small smart soon sorry sort sound space speak
    spend spent stand start started state stay step stick stop stopped story strange
    street strong stuck stuff stupid suddenly suppose sure surprise take taken takes taking talk
    talking tell terrible than thank thing things think third though thought three throw time
    times tiny today together told tomorrow tonight took top total totally touch tough toward
    town train tried trouble true truly trust try trying turn two type under understand unless until
    upset use used useful usual usually very view wait walk wall want wanted war warm watch
    water week weeks weird welcome went white whole whose wide wife win wish within without
    woman wonder wonderful word words world worried worry worse worst worth wow write wrong year
    years yes yesterday yet young
    seeing sitting super land lay catch someday straight
    """.split()
)
