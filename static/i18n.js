// Every string the shopper's pages show, in each language they ship, and the choice of language:
// `?lang=`, else the shopper's earlier choice, else the browser's languages (what it sends as
// Accept-Language), else English. Right-to-left languages turn the whole page around.

const STRINGS = {
  en: {
    language_name: "English",
    language: "Language",
    waiting_room: "Waiting room",
    title_suffix: "waiting room",
    logo_of: "{name} logo",
    shop_links: "Shop links",
    getting_place: "Getting you a place…",
    place_label: "Your place in line",
    wait_label: "Estimated wait",
    progress_label: "Progress to the front of the line",
    rejoin: "Join the line again",
    footer: "Keep this page open. Reloading is safe: you keep your place.",
    "status.scheduled": "Not open yet",
    "status.scheduled.explain": "The waiting room opens before the sale starts. Come back a little before the start.",
    "status.prequeue": "Before the start",
    "status.prequeue.explain": "Everyone here before the start gets a place by fair lottery when the sale starts: arriving early buys nothing, so relax.",
    "status.open": "Open",
    "status.open.explain": "The line is moving. Keep this page open: you'll go to checkout by yourself when it's your turn.",
    "status.paused": "Paused",
    "status.paused.explain": "The shop has paused the line for a moment. You keep your place.",
    "status.sold_out": "Sold out",
    "status.sold_out.explain": "Everything has been sold. Sorry!",
    "status.closed": "Closed",
    "status.closed.explain": "This sale has ended.",
    sale_starts_at: "The sale starts at {time}.",
    youre_in: "You're in!",
    lottery: "Lottery",
    after_draw: "after the draw",
    lottery_explain: "Your place is drawn at the start, fairly, among everyone here before it.",
    youre_next: "You're next!",
    in_line: "You're in line",
    on_hold: "on hold",
    nobody_ahead: "Nobody is ahead of you.",
    ahead: "{n} ahead of you.",
    announce_place: "You are number {n} in line.",
    announce_next: "You are next in line.",
    chance_about: "About {p}% chance to buy",
    chance_unlikely: "Very unlikely — you may want to leave",
    left_line: "You left the line",
    place_expired: "Your place has expired",
    left_text: "You can join again; you'll start at the back.",
    expired_text: "The page was away too long, or your turn passed. You can join again at the back.",
    your_turn: "It's your turn!",
    to_checkout: "Taking you to checkout…",
    "connection.connecting": "Connecting…",
    "connection.live": "Live: updates arrive by themselves",
    "connection.reconnecting": "Connection lost: reconnecting in {s} s. You keep your place.",
    "connection.busy": "The waiting room is very busy: trying again in {s} s. You keep your place.",
    "connection.polling": "Live updates unavailable: checking every few seconds",
    went_wrong: "Something went wrong",
    bad_link: "This link does not name a valid sale.",
    need_account: "Please sign in at the shop first: this sale needs an account.",
    sign_in_failed: "We could not sign you in to join this sale.",
    wait_unknown: "unknown for now",
    wait_under_minute: "less than a minute",
    wait_minutes: "about {m} min",
    wait_hours: "about {h} h",
    wait_hours_minutes: "about {h} h {m} min",
    checkout: "Checkout",
    its_your_turn: "It's your turn",
    item: "Item",
    quantity: "Quantity",
    reserve: "Reserve",
    order: "Order",
    items: "Items",
    held_until: "Held until",
    order_status: "Status",
    card: "Card (demo: any text)",
    pay: "Pay",
    paid: "Paid. Thank you for your order!",
    back: "Back to the waiting room",
    no_admission: "No admission here",
    join_first: "Join the waiting room first: you'll be sent here when it's your turn.",
    turn_lasts: "Your turn lasts until {time}.",
    turn_over: "Your turn has run out. Join the waiting room again.",
    reserved_pay: "Reserved: now pay",
    done: "Done!",
    "problem.sold_out": "Sorry, that item just sold out.",
    "problem.admission_used": "This turn was already used for an order.",
    "problem.not_admitted": "Your turn has run out or is not valid here. Join the waiting room again.",
    "problem.rate_limited": "Too many tries at once: wait a moment and try again.",
    "problem.purchase_limit": "That is more than one shopper may buy in this sale.",
    "draw.title": "Check the draw",
    "draw.intro_before": "Places are drawn by lottery at the start. The hash of a secret seed is published now; the seed is revealed at the start, so anyone can recompute every place.",
    "draw.intro_after": "The draw is done. This page can recompute it from the public record alone: the seed, the list of entrants and their order.",
    "draw.seed_hash": "Seed hash (SHA-256)",
    "draw.commitment": "Entrants commitment",
    "draw.seed": "Seed",
    "draw.at_start": "published at the start",
    "draw.seed_at_start": "revealed at the start",
    "draw.seed_later": "The seed will be revealed at the start. Then you can check your place here.",
    "draw.run": "Check my place",
    "draw.again": "Check again",
    "draw.reading": "Reading the draw: {n} of {m} entrants…",
    "draw.checking": "Checking {m} entrants: {n} done…",
    "draw.ok": "Your place in the draw: {n} of {m} — checked",
    "draw.fail_seed": "Check failed: the seed does not match the hash published before the sale.",
    "draw.fail_count": "Check failed: {n} entrants are listed, but the draw says {m}.",
    "draw.fail_duplicate": "Check failed: an entrant is listed more than once.",
    "draw.fail_commitment": "Check failed: the listed entrants do not match the commitment published at the start.",
    "draw.fail_missing": "Check failed: your ticket is not in the list of entrants.",
    "draw.fail_order": "Check failed: places {n} and {next} of the published order are not in the order the seed gives.",
    "draw.fail_read": "The draw could not be read just now. Try again in a moment.",
    "draw.fail_unsupported": "This browser cannot check the draw on this page (it needs a secure connection).",
  },
  fr: {
    language_name: "Français",
    language: "Langue",
    waiting_room: "Salle d'attente",
    title_suffix: "salle d'attente",
    logo_of: "Logo de {name}",
    shop_links: "Liens de la boutique",
    getting_place: "Nous vous trouvons une place…",
    place_label: "Votre place dans la file",
    wait_label: "Attente estimée",
    progress_label: "Progression vers le début de la file",
    rejoin: "Rejoindre la file à nouveau",
    footer: "Gardez cette page ouverte. Vous pouvez la recharger : vous gardez votre place.",
    "status.scheduled": "Pas encore ouvert",
    "status.scheduled.explain": "La salle d'attente ouvre avant le début de la vente. Revenez un peu avant le début.",
    "status.prequeue": "Avant le début",
    "status.prequeue.explain": "Tous ceux qui sont là avant le début reçoivent une place par tirage au sort équitable : arriver tôt ne change rien, détendez-vous.",
    "status.open": "Ouvert",
    "status.open.explain": "La file avance. Gardez cette page ouverte : vous irez au paiement tout seul quand ce sera votre tour.",
    "status.paused": "En pause",
    "status.paused.explain": "La boutique a mis la file en pause un instant. Vous gardez votre place.",
    "status.sold_out": "Épuisé",
    "status.sold_out.explain": "Tout a été vendu. Désolé !",
    "status.closed": "Terminé",
    "status.closed.explain": "Cette vente est terminée.",
    sale_starts_at: "La vente commence à {time}.",
    youre_in: "Vous êtes inscrit !",
    lottery: "Tirage",
    after_draw: "après le tirage",
    lottery_explain: "Votre place est tirée au sort au début, équitablement, parmi tous ceux arrivés avant.",
    youre_next: "C'est bientôt à vous !",
    in_line: "Vous êtes dans la file",
    on_hold: "en pause",
    nobody_ahead: "Personne devant vous.",
    ahead: "{n} devant vous.",
    announce_place: "Vous êtes numéro {n} dans la file.",
    announce_next: "Vous êtes le prochain dans la file.",
    chance_about: "Environ {p} % de chances d'acheter",
    chance_unlikely: "Très peu probable — vous pouvez préférer partir",
    left_line: "Vous avez quitté la file",
    place_expired: "Votre place a expiré",
    left_text: "Vous pouvez revenir ; vous repartirez en fin de file.",
    expired_text: "La page est restée absente trop longtemps, ou votre tour est passé. Vous pouvez revenir en fin de file.",
    your_turn: "C'est votre tour !",
    to_checkout: "Direction le paiement…",
    "connection.connecting": "Connexion…",
    "connection.live": "En direct : les nouvelles arrivent d'elles-mêmes",
    "connection.reconnecting": "Connexion perdue : nouvel essai dans {s} s. Vous gardez votre place.",
    "connection.busy": "La salle d'attente est très chargée : nouvel essai dans {s} s. Vous gardez votre place.",
    "connection.polling": "Pas de direct : vérification toutes les quelques secondes",
    went_wrong: "Un problème est survenu",
    bad_link: "Ce lien ne désigne pas une vente valide.",
    need_account: "Connectez-vous d'abord à la boutique : cette vente demande un compte.",
    sign_in_failed: "Nous n'avons pas pu vous connecter pour cette vente.",
    wait_unknown: "inconnue pour l'instant",
    wait_under_minute: "moins d'une minute",
    wait_minutes: "environ {m} min",
    wait_hours: "environ {h} h",
    wait_hours_minutes: "environ {h} h {m} min",
    checkout: "Paiement",
    its_your_turn: "C'est votre tour",
    item: "Article",
    quantity: "Quantité",
    reserve: "Réserver",
    order: "Commande",
    items: "Articles",
    held_until: "Réservé jusqu'à",
    order_status: "État",
    card: "Carte (démo : n'importe quel texte)",
    pay: "Payer",
    paid: "Payé. Merci pour votre commande !",
    back: "Retour à la salle d'attente",
    no_admission: "Pas d'accès ici",
    join_first: "Passez d'abord par la salle d'attente : vous serez envoyé ici à votre tour.",
    turn_lasts: "Votre tour dure jusqu'à {time}.",
    turn_over: "Votre tour est passé. Rejoignez la salle d'attente à nouveau.",
    reserved_pay: "Réservé : payez maintenant",
    done: "Terminé !",
    "problem.sold_out": "Désolé, cet article vient d'être épuisé.",
    "problem.admission_used": "Ce tour a déjà servi pour une commande.",
    "problem.not_admitted": "Votre tour est passé ou n'est pas valable ici. Rejoignez la salle d'attente.",
    "problem.rate_limited": "Trop d'essais à la fois : attendez un instant et réessayez.",
    "problem.purchase_limit": "C'est plus qu'un client ne peut acheter dans cette vente.",
    "draw.title": "Vérifier le tirage",
    "draw.intro_before": "Les places sont tirées au sort au début. L'empreinte d'une graine secrète est publiée dès maintenant ; la graine est révélée au début, pour que chacun puisse recalculer toutes les places.",
    "draw.intro_after": "Le tirage a eu lieu. Cette page peut le recalculer à partir des seules données publiques : la graine, la liste des participants et leur ordre.",
    "draw.seed_hash": "Empreinte de la graine (SHA-256)",
    "draw.commitment": "Engagement sur les participants",
    "draw.seed": "Graine",
    "draw.at_start": "publié au début",
    "draw.seed_at_start": "révélée au début",
    "draw.seed_later": "La graine sera révélée au début. Vous pourrez alors vérifier votre place ici.",
    "draw.run": "Vérifier ma place",
    "draw.again": "Vérifier à nouveau",
    "draw.reading": "Lecture du tirage : {n} participants sur {m}…",
    "draw.checking": "Vérification de {m} participants : {n} faits…",
    "draw.ok": "Votre place au tirage : {n} sur {m} — vérifiée",
    "draw.fail_seed": "Échec de la vérification : la graine ne correspond pas à l'empreinte publiée avant la vente.",
    "draw.fail_count": "Échec de la vérification : {n} participants sont listés, mais le tirage en annonce {m}.",
    "draw.fail_duplicate": "Échec de la vérification : un participant figure plusieurs fois dans la liste.",
    "draw.fail_commitment": "Échec de la vérification : les participants listés ne correspondent pas à l'engagement publié au début.",
    "draw.fail_missing": "Échec de la vérification : votre ticket ne figure pas dans la liste des participants.",
    "draw.fail_order": "Échec de la vérification : les places {n} et {next} de l'ordre publié ne sont pas dans l'ordre que donne la graine.",
    "draw.fail_read": "Le tirage n'a pas pu être lu pour l'instant. Réessayez dans un moment.",
    "draw.fail_unsupported": "Ce navigateur ne peut pas vérifier le tirage sur cette page (il faut une connexion sécurisée).",
  },
  ar: {
    language_name: "العربية",
    language: "اللغة",
    waiting_room: "غرفة الانتظار",
    title_suffix: "غرفة الانتظار",
    logo_of: "شعار {name}",
    shop_links: "روابط المتجر",
    getting_place: "نحجز لك مكانًا…",
    place_label: "مكانك في الطابور",
    wait_label: "الانتظار المتوقع",
    progress_label: "التقدم نحو مقدمة الطابور",
    rejoin: "انضم إلى الطابور من جديد",
    footer: "أبقِ هذه الصفحة مفتوحة. يمكنك إعادة تحميلها: ستحتفظ بمكانك.",
    "status.scheduled": "لم يفتح بعد",
    "status.scheduled.explain": "تفتح غرفة الانتظار قبل بدء البيع. عُد قبل البدء بقليل.",
    "status.prequeue": "قبل البدء",
    "status.prequeue.explain": "كل من يصل قبل البدء يحصل على مكان بقرعة عادلة عند بدء البيع: الوصول المبكر لا يمنح أفضلية، فاطمئن.",
    "status.open": "مفتوح",
    "status.open.explain": "الطابور يتحرك. أبقِ هذه الصفحة مفتوحة: ستنتقل إلى الدفع تلقائيًا عندما يحين دورك.",
    "status.paused": "متوقف مؤقتًا",
    "status.paused.explain": "أوقف المتجر الطابور للحظة. ستحتفظ بمكانك.",
    "status.sold_out": "نفدت الكمية",
    "status.sold_out.explain": "بيع كل شيء. نعتذر!",
    "status.closed": "مغلق",
    "status.closed.explain": "انتهى هذا البيع.",
    sale_starts_at: "يبدأ البيع في {time}.",
    youre_in: "أنت مسجّل!",
    lottery: "قرعة",
    after_draw: "بعد القرعة",
    lottery_explain: "يُسحب مكانك عند البدء، بعدل، بين كل من وصل قبله.",
    youre_next: "أنت التالي!",
    in_line: "أنت في الطابور",
    on_hold: "متوقف",
    nobody_ahead: "لا أحد أمامك.",
    ahead: "أمامك {n}.",
    announce_place: "أنت رقم {n} في الطابور.",
    announce_next: "أنت التالي في الطابور.",
    chance_about: "فرصة الشراء نحو {p}٪",
    chance_unlikely: "غير مرجّح إطلاقًا — قد ترغب في المغادرة",
    left_line: "غادرت الطابور",
    place_expired: "انتهت صلاحية مكانك",
    left_text: "يمكنك الانضمام مجددًا؛ ستبدأ من آخر الطابور.",
    expired_text: "غابت الصفحة طويلًا أو فات دورك. يمكنك الانضمام مجددًا من آخر الطابور.",
    your_turn: "حان دورك!",
    to_checkout: "ننقلك إلى الدفع…",
    "connection.connecting": "جارٍ الاتصال…",
    "connection.live": "مباشر: تصل التحديثات تلقائيًا",
    "connection.reconnecting": "انقطع الاتصال: إعادة المحاولة خلال {s} ث. ستحتفظ بمكانك.",
    "connection.busy": "غرفة الانتظار مزدحمة جدًا: إعادة المحاولة خلال {s} ث. ستحتفظ بمكانك.",
    "connection.polling": "التحديث المباشر غير متاح: نتحقق كل بضع ثوانٍ",
    went_wrong: "حدث خطأ ما",
    bad_link: "هذا الرابط لا يشير إلى بيع صالح.",
    need_account: "سجّل الدخول في المتجر أولًا: هذا البيع يتطلب حسابًا.",
    sign_in_failed: "تعذّر تسجيل دخولك للانضمام إلى هذا البيع.",
    wait_unknown: "غير معروف حاليًا",
    wait_under_minute: "أقل من دقيقة",
    wait_minutes: "نحو {m} د",
    wait_hours: "نحو {h} س",
    wait_hours_minutes: "نحو {h} س {m} د",
    checkout: "الدفع",
    its_your_turn: "حان دورك",
    item: "المنتج",
    quantity: "الكمية",
    reserve: "احجز",
    order: "الطلب",
    items: "المنتجات",
    held_until: "محجوز حتى",
    order_status: "الحالة",
    card: "البطاقة (تجريبي: أي نص)",
    pay: "ادفع",
    paid: "تم الدفع. شكرًا لطلبك!",
    back: "العودة إلى غرفة الانتظار",
    no_admission: "لا يوجد دخول هنا",
    join_first: "انضم إلى غرفة الانتظار أولًا: سترسَل إلى هنا عندما يحين دورك.",
    turn_lasts: "يستمر دورك حتى {time}.",
    turn_over: "انتهى دورك. انضم إلى غرفة الانتظار من جديد.",
    reserved_pay: "تم الحجز: ادفع الآن",
    done: "تم!",
    "problem.sold_out": "نعتذر، نفد هذا المنتج للتو.",
    "problem.admission_used": "استُخدم هذا الدور لطلب من قبل.",
    "problem.not_admitted": "انتهى دورك أو أنه غير صالح هنا. انضم إلى غرفة الانتظار من جديد.",
    "problem.rate_limited": "محاولات كثيرة في وقت واحد: انتظر قليلًا ثم حاول مجددًا.",
    "problem.purchase_limit": "هذا أكثر مما يُسمح للمشتري الواحد بشرائه في هذا البيع.",
    "draw.title": "تحقّق من القرعة",
    "draw.intro_before": "تُسحب الأماكن بالقرعة عند البدء. تُنشر الآن بصمة بذرة سرية، وتُكشف البذرة عند البدء، فيستطيع أي شخص إعادة حساب كل الأماكن.",
    "draw.intro_after": "جرت القرعة. تستطيع هذه الصفحة إعادة حسابها من السجل العام وحده: البذرة وقائمة المشاركين وترتيبهم.",
    "draw.seed_hash": "بصمة البذرة (SHA-256)",
    "draw.commitment": "التزام قائمة المشاركين",
    "draw.seed": "البذرة",
    "draw.at_start": "يُنشر عند البدء",
    "draw.seed_at_start": "تُكشف عند البدء",
    "draw.seed_later": "ستُكشف البذرة عند البدء، وعندها يمكنك التحقق من مكانك هنا.",
    "draw.run": "تحقّق من مكاني",
    "draw.again": "تحقّق مجددًا",
    "draw.reading": "قراءة القرعة: {n} من {m} مشاركًا…",
    "draw.checking": "التحقق من {m} مشاركًا: تم {n}…",
    "draw.ok": "مكانك في القرعة: {n} من {m} — تم التحقق",
    "draw.fail_seed": "فشل التحقق: البذرة لا تطابق البصمة المنشورة قبل البيع.",
    "draw.fail_count": "فشل التحقق: القائمة تضم {n} مشاركًا، لكن القرعة تذكر {m}.",
    "draw.fail_duplicate": "فشل التحقق: أحد المشاركين مدرج أكثر من مرة.",
    "draw.fail_commitment": "فشل التحقق: المشاركون المدرجون لا يطابقون الالتزام المنشور عند البدء.",
    "draw.fail_missing": "فشل التحقق: تذكرتك ليست في قائمة المشاركين.",
    "draw.fail_order": "فشل التحقق: المكانان {n} و{next} في الترتيب المنشور ليسا بالترتيب الذي تعطيه البذرة.",
    "draw.fail_read": "تعذّرت قراءة القرعة الآن. حاول مجددًا بعد قليل.",
    "draw.fail_unsupported": "لا يستطيع هذا المتصفح التحقق من القرعة في هذه الصفحة (يلزم اتصال آمن).",
  },
};

/** Languages written right to left. */
const RIGHT_TO_LEFT = new Set(["ar", "he", "fa", "ur"]);
const CHOICE_KEY = "waitroom.lang";

/** The languages the pages ship, by code. */
export const LANGUAGES = Object.keys(STRINGS);

let current = "en";

/** The language of the page: `?lang=`, the shopper's choice, the browser's, or English. */
export function chooseLanguage() {
  const asked = [new URLSearchParams(location.search).get("lang"), localStorage.getItem(CHOICE_KEY), ...(navigator.languages || [navigator.language])];
  for (const tag of asked) {
    const code = (tag || "").toLowerCase().split("-")[0];
    if (STRINGS[code]) {
      return code;
    }
  }
  return "en";
}

/** The current language's string for `key`, with `{name}` filled from `values`. */
export function t(key, values = {}) {
  const text = STRINGS[current][key] ?? STRINGS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (values[name] === undefined ? "" : String(values[name])));
}

/** The current language's code. */
export function language() {
  return current;
}

/** A number as the current language writes it. */
export function number(value) {
  return Number(value).toLocaleString(current);
}

/**
 * Sets the page's language: `lang` and `dir` on the document, every `[data-i18n]` element's text
 * (and `[data-i18n-label]`'s aria-label), and the switcher. `onChange` runs after the shopper
 * picks another language, to redraw what the script wrote.
 */
export function setupLanguage(onChange = () => {}) {
  apply(chooseLanguage());
  const switcher = document.getElementById("lang");
  if (!switcher) {
    return;
  }
  for (const code of LANGUAGES) {
    const option = document.createElement("option");
    option.value = code;
    option.lang = code;
    option.textContent = STRINGS[code].language_name;
    switcher.append(option);
  }
  switcher.value = current;
  switcher.addEventListener("change", () => {
    localStorage.setItem(CHOICE_KEY, switcher.value);
    const url = new URL(location.href);
    url.searchParams.set("lang", switcher.value);
    history.replaceState(history.state, "", url);
    apply(switcher.value);
    onChange();
  });
}

function apply(code) {
  current = STRINGS[code] ? code : "en";
  document.documentElement.lang = current;
  document.documentElement.dir = RIGHT_TO_LEFT.has(current) ? "rtl" : "ltr";
  for (const node of document.querySelectorAll("[data-i18n]")) {
    node.textContent = t(node.dataset.i18n);
  }
  for (const node of document.querySelectorAll("[data-i18n-label]")) {
    node.setAttribute("aria-label", t(node.dataset.i18nLabel));
  }
}

/** A wait in words: "about 3 min", "less than a minute". */
export function waitInWords(seconds) {
  if (seconds === null || seconds === undefined) {
    return t("wait_unknown");
  }
  if (seconds < 60) {
    return t("wait_under_minute");
  }
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) {
    return t("wait_minutes", { m: number(minutes) });
  }
  const h = number(Math.floor(minutes / 60));
  const rest = minutes % 60;
  return rest ? t("wait_hours_minutes", { h, m: number(rest) }) : t("wait_hours", { h });
}

/** A time for people, in the shopper's own zone and language. */
export function clockTime(rfc3339) {
  const at = new Date(rfc3339);
  return Number.isNaN(at.getTime()) ? "" : at.toLocaleTimeString(current, { hour: "2-digit", minute: "2-digit" });
}
