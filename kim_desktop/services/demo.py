"""Synthetic demo data: persons, households, cases and everything around them, fast and reproducible.

``generate_demo_data(ctx, persons=N, seed=S)`` *adds* N synthetic persons to whatever the database holds.
Everything is invented: names are drawn from pools of common names of the origins KIM meets, written the
way German documents write them (transliteration variants, Cyrillic native spellings, Vietnamese, Turkish
and Romanian diacritics); streets are invented, towns and postcodes are those of the Kreis Coesfeld; phone
numbers are random; providers, interpreters and case managers carry obviously fictitious names.

Around the persons: households with spouse/parent/child/sibling relations, cases in every phase with their
phase history, consent, assessment per life area, goals with steps, referrals (release consent, status
history), Wiedervorlagen, journal entries and appointments with participants and interpreters; a few
locations, interpreters, fictitious providers with offers and two case manager accounts are created once.

Reproducible: the same seed and ``today`` (default: the current date; dates are relative to it) on an empty
database give the same data (all UUIDs come from the seeded ``random.Random``). On a database that already holds persons the person count is mixed into the seed, so a
second run with the same seed adds *different* persons with fresh IDs and file numbers (``KIM-{year}-{n:05d}``
continuing after the highest existing number), never colliding with the first run.

Fast: rows are built as plain dicts and written with one executemany per table and batch (no ORM objects,
no per-row change history); name index keys are cached per name. One transaction per batch, so an
interruption leaves whole batches (each household with all its cases, journal entries, …) and the search
index always matches the persons written. ``progress(done, total)`` is called after every batch; returning
``False`` cancels after that batch. One ``AuditEvent`` (``demo_import``) records the run.

Relations: a ``PersonRelation`` row reads "``related_person`` is the ``relation`` of ``person``", so a parent
and child are linked by (child, parent, ``parent``) and (parent, child, ``child``); spouses both ways.

Permission: adding demo data creates persons, so it needs ``person.write`` (``PermissionDeniedError``
otherwise, before anything is written).
"""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy import text as sql

from ..db.models import (
    Appointment,
    AppointmentParticipant,
    Assessment,
    Case,
    CaseMember,
    CasePhaseChange,
    CodeEntry,
    Consent,
    FollowUp,
    Goal,
    Household,
    HouseholdMember,
    Interpreter,
    JournalEntry,
    Location,
    Offer,
    OfficeHours,
    Person,
    PersonLanguage,
    PersonNameVariant,
    PersonNationality,
    PersonRelation,
    Provider,
    Referral,
    ReferralStatusChange,
    ResidenceStatusChange,
    SearchKey,
    Step,
    Team,
    UserAccount,
    UserRole,
)
from . import audit, search
from .context import ServiceContext
from .dates import PartialDate
from .permissions import require

ProgressCallback = Callable[[int, int], Any]

# --- names -----------------------------------------------------------------------------------------------
#
# A pool is a comma-separated list; each entry lists its spellings separated by "/" (the first is the most
# common one in German documents) and optionally "=" plus the native-script spelling.

Name = tuple[tuple[str, ...], str | None]


def _pool(spec: str) -> tuple[Name, ...]:
    out = []
    for item in spec.split(","):
        item = " ".join(item.split())
        if not item:
            continue
        latin, _sep, native = item.partition("=")
        out.append((tuple(s.strip() for s in latin.split("/")), native.strip() or None))
    return tuple(out)


ARABIC_MALE = _pool(
    """Mohammed/Muhammad/Mohamad/Mohamed/Muhammed, Ahmad/Ahmed, Mahmoud/Mahmud/Mahmood, Khaled/Khalid/Chaled,
    Hussein/Hussain/Husain, Hassan/Hasan, Youssef/Yusuf/Yousef/Jussuf, Omar/Umar, Abdul Rahman/Abdulrahman/
    Abdelrahman, Mustafa/Moustafa/Mostafa, Ibrahim/Ebrahim, Ali, Walid/Waleed, Bilal, Anas, Amjad,
    Tarek/Tarik/Tareq, Rami, Samer, Fadi, Jamal/Djamal/Gamal, Abdullah/Abdallah, Osama/Usama, Nour/Nur,
    Saleh/Salih, Yasser/Yaser/Jasser, Hamza, Mazen, Ammar/Amar, Ayman/Aiman, Firas, Majd, Adnan, Karim/Kareem,
    Mohammad Nour/Mohamad Nur, Abdulkader/Abdul Kader/Abdelkader"""
)
ARABIC_FEMALE = _pool(
    """Fatima/Fatma/Fatemah, Aisha/Aischa/Aicha, Amina/Ameena, Rasha, Nour/Nur/Noor, Hiba/Heba, Lina, Rania,
    Yasmin/Jasmin/Yasmine, Sara/Sarah, Maryam/Mariam, Zainab/Zeinab/Zaynab, Rima/Reem/Rim, Hanan,
    Layla/Leila/Laila, Ghada, Dalal, Samira, Khadija/Khadidja/Chadidscha, Asmaa/Asma, Bushra/Buschra, Nada,
    Salma, Amal, Rahaf, Doaa/Duaa, Israa/Isra, Heba Allah/Hibatullah, Malak, Rouaa/Ruaa, Shahd/Schahd"""
)
ARABIC_FAMILY = _pool(
    """Al-Hassan/Alhasan/Al Hasan/El-Hassan, Al-Ahmad/Alahmad/Al Ahmad, Al-Khalil/Alkhalil, Al-Ali/Alali,
    Hamdan, Al-Mohammad/Almohamad/Al Mohammed, Al-Hussein/Alhussein/Al Hussain, Khalil/Chalil, Ibrahim,
    Haddad, Darwish/Darwisch, Al-Aswad/Alaswad, Shaker/Schaker/Chaker, Al-Hamoud/Alhamoud/Al-Hammoud,
    Suleiman/Sulaiman/Sleiman, Mustafa/Moustafa, Abdullah/Abdallah, Kurdi, Saleh/Salih, Al-Najjar/Alnajjar/
    Al Najar, Othman/Osman/Uthman, Qasim/Kassem/Kasim/Qassem, Al-Jaber/Aljaber, Sheikh/Scheich/Shaikh,
    Younes/Yunus/Junes, Abu Zaid/Abo Zaid/Abuzaid, Al-Omar/Alomar, Hamadeh/Hamada, Nasser/Nasr, Mansour/Mansur,
    Al-Rashid/Alrashid/Ar-Rashid, Al-Saleh/Alsaleh, Hamwi/Al-Hamwi, Halabi/Al-Halabi, Al-Zoubi/Alzoubi/Al Zubi,
    Abdel Rahman/Abdelrahman/Abdul Rahman, Al-Masri/Almasri, Jumaa/Jumah/Dschumaa, Hajj Ali/Hadsch Ali,
    El Khoury/Al-Khouri/Khoury"""
)
KURDISH_MALE = _pool(
    """Azad, Baran, Rojhat, Dilshad/Dilschad, Shivan/Schiwan, Kawa, Delil, Heval, Rezan, Serhat, Hogir,
    Jiyan/Dschiyan, Berzan, Ciwan/Jiwan, Khudida/Chudida, Hadi, Khalaf/Chalaf, Elias/Ilyas, Murad/Murat,
    Barzan, Zardasht/Zardascht, Nechirvan/Nechirwan"""
)
KURDISH_FEMALE = _pool(
    """Berivan/Beriwan, Rojda, Dilan, Nesrin/Nisrin, Shirin/Schirin, Jihan/Dschihan/Cihan, Avin/Awin, Zozan,
    Hêvî/Hevi, Roza, Nadia/Nadja, Gulistan/Gülistan, Perwin/Perwîn, Rojin, Dilvin/Dilwin, Leyla/Layla,
    Evin/Ewin, Sosin"""
)
KURDISH_FAMILY = _pool(
    """Khalaf/Chalaf, Murad/Murat, Qasim/Kasim, Haji/Hadschi/Hadji, Elias/Ilyas, Barakat, Kheder/Khidir/
    Chidir, Hussein/Hussain, Omar/Umar, Mahmoud/Mahmud, Sido, Bakr/Bakir, Osman/Othman, Hasso, Temo,
    Ali, Sheikhmous/Scheichmus, Rasho/Rascho, Berekat, Kelo"""
)
AFGHAN_MALE = _pool(
    """Mohammad/Mohammed/Muhammad, Ahmad/Ahmed, Ali, Hamid, Naveed/Navid/Nawid, Mustafa/Mostafa, Sayed/Said/
    Sayyed, Ahmad Shah/Ahmadshah, Mohammad Nabi/Mohammadnabi, Rahmatullah/Rahmatulla, Ghulam/Gholam,
    Habibullah/Habibulla, Jawad/Javad, Farid, Zabihullah/Zabiullah, Samiullah, Mohammad Reza/Mohammadreza,
    Abdul Wahid/Abdulwahid, Hakim, Nasir/Naser, Rahim, Sohrab/Sorab, Khan Mohammad, Esmatullah/Ismatullah,
    Mohammad Ali/Mohammadali, Ramin, Omid/Umid, Elyas/Ilyas, Qasim/Ghasem"""
)
AFGHAN_FEMALE = _pool(
    """Fatima/Fatema, Zahra/Sahra, Maryam/Mariam, Nazanin, Farzana, Shabnam/Schabnam, Marzia/Marziya,
    Khadija/Khadidscha, Zarghuna/Zarghona, Parwana/Parvana, Nargis/Narges, Mursal, Freshta/Fereshta/Fershta,
    Masooma/Masuma/Masoumeh, Sakina/Sakineh, Gulalai/Gulalei, Hosai/Hussai, Laila/Leila, Roya, Sima,
    Nilofar/Nilufar, Halima, Madina, Tamana, Zohra/Sohra"""
)
AFGHAN_FAMILY = _pool(
    """Ahmadi, Hakimi, Mohammadi/Muhammadi, Hussaini/Hosseini/Husseini, Rahimi, Noori/Nuri/Nouri, Sultani,
    Karimi, Amiri, Safi, Stanikzai/Stanekzai, Popal, Haidari/Heidari/Haydari, Azizi, Rezai/Rezaei, Sahak,
    Jalali, Wardak, Nazari, Rasuli/Rasouli, Sadat, Ahmadzai, Niazi, Qaderi/Ghaderi, Hashimi/Hashemi, Mirzaei/
    Mirzai, Samadi, Faizi, Yousufzai/Yusufzai, Kohistani, Jafari/Dschafari"""
)
PERSIAN_MALE = _pool(
    """Reza, Ali, Mohammad/Mohammed, Hossein/Hussein, Mehdi/Mahdi, Amir, Saeed/Said, Hamid, Farhad,
    Dariush/Daryoush, Babak, Arash, Behnam, Kourosh/Kurosch, Hamed, Majid, Milad, Navid, Peyman/Payman,
    Sina, Mohammad Reza/Mohammadreza, Amir Hossein/Amirhossein"""
)
PERSIAN_FEMALE = _pool(
    """Maryam/Mariam, Fatemeh/Fatima, Zahra, Shirin/Schirin, Leila/Leyla, Nasrin, Parisa, Mahsa, Shabnam,
    Negar, Roya, Sara/Sarah, Elham, Niloufar/Nilufar, Samira, Mina, Azadeh/Azade, Forough/Forugh, Golnaz,
    Sepideh/Sepide"""
)
PERSIAN_FAMILY = _pool(
    """Hosseini/Husseini, Mohammadi, Ahmadi, Rezaei/Rezai, Moradi, Karimi, Jafari/Djafari, Rahimi, Hashemi,
    Sadeghi/Sadeqi, Ghasemi/Qasemi/Kasemi, Mousavi/Musavi, Tehrani, Kazemi/Kasemi, Heidari/Haidari,
    Rostami, Ebrahimi/Ibrahimi, Nouri/Nuri, Shirazi/Schirasi, Azizi, Bahrami, Salehi, Zare/Zarei, Najafi"""
)
TURKISH_MALE = _pool(
    """Mehmet/Mehmed, Mustafa, Ahmet/Ahmed, Ali, Hüseyin/Hueseyin, Hasan, İbrahim/Ibrahim, İsmail/Ismail,
    Yusuf, Murat, Ömer/Oemer, Emre, Burak, Osman, Kemal, Hakan, Serkan, Ercan, Cem, Onur, Yasin, Enes,
    Furkan, Uğur/Ugur, Gökhan/Goekhan, Barış/Baris, Tolga, Volkan"""
)
TURKISH_FEMALE = _pool(
    """Ayşe/Ayse, Fatma, Emine, Hatice, Zeynep, Elif, Meryem, Şerife/Serife, Zehra, Büşra/Buesra, Özlem/Oezlem,
    Gülşen/Guelsen, Esra, Merve, Hülya/Huelya, Derya, Sibel, Songül/Songuel, Yasemin, Kübra/Kuebra, Tuğba/
    Tugba, Sevgi, Nurcan, Dilek, Hacer, Gülay/Guelay"""
)
TURKISH_FAMILY = _pool(
    """Yılmaz/Yilmaz, Kaya, Demir, Şahin/Sahin, Çelik/Celik, Yıldız/Yildiz, Yıldırım/Yildirim, Öztürk/
    Oeztuerk/Ozturk, Aydın/Aydin, Özdemir/Oezdemir, Arslan, Doğan/Dogan, Kılıç/Kilic, Aslan, Çetin/Cetin,
    Kara, Koç/Koc, Kurt, Özkan/Oezkan, Şimşek/Simsek, Polat, Korkmaz, Karataş/Karatas, Erdoğan/Erdogan,
    Güneş/Gunes, Aktaş/Aktas, Bulut, Keskin, Tekin, Acar, Ünal/Uenal, Işık/Isik, Güler/Gueler"""
)
KURDISH_TR_MALE = _pool(
    """Mehmet, Abdullah, Ramazan, Mahmut, Şeyhmus/Seyhmus, Cihan, Welat, Serhat, Rojhat, Baran, Mazlum,
    Zeki, Hüseyin, Davut, Şiyar/Siyar, Agit, Berxwedan"""
)
KURDISH_TR_FEMALE = _pool(
    """Berivan, Rojda, Dilan, Zozan, Gülistan, Hatice, Emine, Leyla, Sakine, Nurhan, Rojin, Zelal, Hêvîn/Hevin,
    Şilan/Silan"""
)
KURDISH_TR_FAMILY = _pool(
    """Aydın/Aydin, Tekin, Demir, Yıldız/Yildiz, Kaya, Özer/Oezer, Akgül/Akguel, Doğru/Dogru, Bozkurt, Ekinci,
    Güzel/Guezel, Tunç/Tunc, Baran, Oral, Zengin, Altun, Ateş/Ates, Toprak"""
)
UKRAINIAN_MALE = _pool(
    """Oleksandr/Olexandr/Oleksander=Олександр, Andrii/Andrij/Andriy=Андрій, Serhii/Serhij/Sergej=Сергій,
    Dmytro/Dmitro=Дмитро, Volodymyr/Wolodymyr=Володимир, Mykola/Mikola=Микола, Ivan/Iwan=Іван,
    Yurii/Jurij/Yuriy=Юрій, Vasyl/Wasyl=Василь, Oleh/Oleg=Олег, Bohdan/Bogdan=Богдан, Maksym/Maxym=Максим,
    Artem/Artjom=Артем, Denys/Denis=Денис, Ihor/Igor=Ігор, Viktor/Wiktor=Віктор, Roman=Роман,
    Taras=Тарас, Vitalii/Witalij=Віталій, Yevhen/Jewhen=Євген, Mykhailo/Michajlo=Михайло,
    Pavlo/Pawlo=Павло, Anatolii/Anatolij=Анатолій, Danylo/Danilo=Данило, Kyrylo/Kirilo=Кирило"""
)
UKRAINIAN_FEMALE = _pool(
    """Olena/Olena=Олена, Iryna/Irina=Ірина, Nataliia/Natalija/Natalia=Наталія, Tetiana/Tetjana=Тетяна,
    Oksana=Оксана, Yuliia/Julija/Yulia=Юлія, Svitlana/Switlana=Світлана, Olha/Olga=Ольга,
    Kateryna/Katerina=Катерина, Mariia/Marija/Maria=Марія, Anastasiia/Anastasija=Анастасія,
    Viktoriia/Wiktorija=Вікторія, Halyna/Galina=Галина, Liudmyla/Ljudmila=Людмила, Daryna/Darina=Дарина,
    Sofiia/Sofija=Софія, Alina=Аліна, Valentyna/Walentina=Валентина, Larysa/Larissa=Лариса,
    Inna=Інна, Yevheniia/Jewhenija=Євгенія, Polina=Поліна, Khrystyna/Christina=Христина"""
)
UKRAINIAN_FAMILY = _pool(
    """Shevchenko/Schewtschenko=Шевченко, Kovalenko/Kowalenko=Коваленко, Bondarenko=Бондаренко,
    Tkachenko/Tkatschenko=Ткаченко, Kravchenko/Krawtschenko=Кравченко, Boiko/Bojko=Бойко,
    Kovalchuk/Kowaltschuk=Ковальчук, Oliinyk/Olijnyk=Олійник, Melnyk/Melnik=Мельник, Lysenko/Lissenko=Лисенко,
    Moroz=Мороз, Marchenko/Martschenko=Марченко, Savchenko/Sawtschenko=Савченко, Rudenko=Руденко,
    Petrenko=Петренко, Honcharenko/Gontscharenko=Гончаренко, Hrytsenko/Gryzenko=Гриценко,
    Pavlenko/Pawlenko=Павленко, Kuzmenko/Kusmenko=Кузьменко, Ponomarenko=Пономаренко,
    Kovalskyi/Kowalskyj=Ковальський, Zhuravskyi/Schurawskyj=Журавський, Levchenko/Lewtschenko=Левченко,
    Polishchuk/Poliszczuk=Поліщук, Sydorenko/Sidorenko=Сидоренко, Karpenko=Карпенко, Vasylenko/Wassylenko=Василенко,
    Klymenko/Klimenko=Клименко, Romanenko=Романенко, Yakovenko/Jakowenko=Яковенко, Hnatiuk/Hnatjuk=Гнатюк"""
)
RUSSIAN_MALE = _pool(
    """Aleksandr/Alexander/Alexandr=Александр, Dmitrii/Dmitri/Dmitrij=Дмитрий, Sergei/Sergej/Sergey=Сергей,
    Andrei/Andrej/Andrey=Андрей, Aleksei/Alexej/Aleksey=Алексей, Mikhail/Michail=Михаил, Ivan/Iwan=Иван,
    Nikolai/Nikolaj=Николай, Vladimir/Wladimir=Владимир, Evgenii/Jewgeni=Евгений, Maksim/Maxim=Максим,
    Pavel/Pawel=Павел, Artem/Artjom=Артём, Konstantin=Константин"""
)
RUSSIAN_FEMALE = _pool(
    """Elena/Jelena=Елена, Olga=Ольга, Tatiana/Tatjana=Татьяна, Natalia/Natalja=Наталья, Irina=Ирина,
    Svetlana/Swetlana=Светлана, Anna=Анна, Mariia/Maria=Мария, Ekaterina/Jekaterina=Екатерина,
    Iuliia/Julia=Юлия, Anastasiia/Anastasia=Анастасия, Oksana=Оксана, Liudmila/Ljudmila=Людмила"""
)
RUSSIAN_FAMILY = _pool(
    """Ivanov/Iwanow=Иванов, Smirnov/Smirnow=Смирнов, Kuznetsov/Kusnezow=Кузнецов, Popov/Popow=Попов,
    Sokolov/Sokolow=Соколов, Lebedev/Lebedew=Лебедев, Kozlov/Koslow=Козлов, Novikov/Nowikow=Новиков,
    Morozov/Morosow=Морозов, Volkov/Wolkow=Волков, Fedorov/Fjodorow=Федоров, Pavlov/Pawlow=Павлов,
    Semenov/Semjonow=Семенов, Egorov/Jegorow=Егоров, Kuzmin/Kusmin=Кузьмин"""
)
CHECHEN_MALE = _pool(
    """Magomed/Mahomed=Магомед, Ruslan=Руслан, Aslan=Аслан, Islam=Ислам, Adam=Адам, Shamil/Schamil=Шамиль,
    Rustam=Рустам, Ibragim/Ibrahim=Ибрагим, Umar=Умар, Akhmed/Achmed=Ахмед, Khasan/Chasan=Хасан,
    Zelimkhan/Selimchan=Зелимхан"""
)
CHECHEN_FEMALE = _pool(
    """Khadizhat/Chadischat=Хадижат, Zarema/Sarema=Зарема, Madina=Мадина, Aminat=Аминат, Kheda/Cheda=Хеда,
    Luiza/Luisa=Луиза, Milana=Милана, Malika=Малика, Zalina/Salina=Залина, Petimat=Петимат, Aishat=Айшат"""
)
CHECHEN_FAMILY = _pool(
    """Magomedov/Magomedow=Магомедов, Khasanov/Chasanow=Хасанов, Ismailov/Ismailow=Исмаилов,
    Umarov/Umarow=Умаров, Saidov/Saidow=Саидов, Abdulaev/Abdulajew=Абдулаев, Musaev/Mussajew=Мусаев,
    Akhmadov/Achmadow=Ахмадов, Bisultanov/Bisultanow=Бисултанов, Elmurzaev/Elmursajew=Эльмурзаев"""
)
BULGARIAN_MALE = _pool(
    """Georgi/Georgij=Георги, Ivan/Iwan=Иван, Dimitar/Dimitr=Димитър, Nikolay/Nikolai=Николай,
    Petar/Peter=Петър, Hristo/Christo=Христо, Stoyan/Stojan=Стоян, Todor=Тодор, Yordan/Jordan=Йордан,
    Krasimir=Красимир, Plamen=Пламен, Vasil/Wasil=Васил"""
)
BULGARIAN_FEMALE = _pool(
    """Maria/Mariya=Мария, Ivanka/Iwanka=Иванка, Elena=Елена, Yordanka/Jordanka=Йорданка, Desislava/
    Desislawa=Десислава, Petya/Petja=Петя, Tsvetelina/Zwetelina=Цветелина, Galina=Галина, Radka=Радка,
    Snezhana/Sneschana=Снежана, Violeta/Wioleta=Виолета, Kremena=Кремена"""
)
BULGARIAN_FAMILY = _pool(
    """Ivanov/Iwanow=Иванов, Georgiev/Georgiew=Георгиев, Dimitrov/Dimitrow=Димитров, Petrov/Petrow=Петров,
    Nikolov/Nikolow=Николов, Hristov/Christow=Христов, Stoyanov/Stojanow=Стоянов, Todorov/Todorow=Тодоров,
    Iliev/Iliew=Илиев, Vasilev/Wasilew=Василев, Angelov/Angelow=Ангелов, Kolev/Kolew=Колев"""
)
BULGARIAN_TR_MALE = _pool(
    """Ahmed/Ahmet=Ахмед, Mehmed/Mehmet=Мехмед, Yusein/Hüseyin=Юсеин, Ismail=Исмаил, Ali=Али,
    Mustafa=Мустафа, Sali=Сали, Ramadan/Ramazan=Рамадан, Orhan=Орхан"""
)
BULGARIAN_TR_FEMALE = _pool(
    """Aishe/Ayşe=Айше, Fatme/Fatma=Фатме, Emine=Емине, Hatidzhe/Hatice=Хатидже, Nurie/Nuriye=Нурие,
    Sevdzhan/Sevcan=Севджан, Gyulten/Gülten=Гюлтен, Zyumbyul/Zümbül=Зюмбюл"""
)
BULGARIAN_TR_FAMILY = _pool(
    """Ahmedov/Ahmedow=Ахмедов, Mehmedov/Mehmedow=Мехмедов, Yuseinov/Juseinow=Юсеинов,
    Aliev/Aliew=Алиев, Mustafov/Mustafow=Мустафов, Salimov/Salimow=Салимов, Osmanov/Osmanow=Османов,
    Ismailov/Ismailow=Исмаилов"""
)
ROMANIAN_MALE = _pool(
    """Ion, Andrei/Andrej, Alexandru, Mihai, Ștefan/Stefan/Ştefan, Florin, Constantin, Gheorghe, Vasile,
    Costel, Marian, Ionuț/Ionut/Ionuţ, Nicolae, Cătălin/Catalin, Adrian, Daniel, Cristian, Bogdan, Răzvan/
    Razvan, Sorin, Petru, Dumitru"""
)
ROMANIAN_FEMALE = _pool(
    """Maria, Elena, Ioana, Andreea, Mihaela, Ana, Cristina, Florentina, Georgiana, Alexandra, Ștefania/
    Stefania, Gabriela, Daniela, Nicoleta, Roxana, Alina, Larisa, Mădălina/Madalina, Lăcrămioara/
    Lacramioara, Ionela, Violeta, Simona"""
)
ROMANIAN_FAMILY = _pool(
    """Popescu, Ionescu, Popa, Pop, Radu, Dumitru, Stan, Stoica, Gheorghe, Matei, Ciobanu, Rusu, Munteanu,
    Constantin, Lungu, Mihai, Toma, Marin, Ștefan/Stefan, Țurcanu/Turcanu/Ţurcanu, Dobre, Niculescu,
    Florea, Ilie, Dinu, Zamfir, Bălan/Balan, Sârbu/Sarbu, Moldovan, Lazăr/Lazar, Cazacu, Ursu, Tănase/Tanase"""
)
POLISH_MALE = _pool(
    """Piotr, Krzysztof, Andrzej, Tomasz, Paweł/Pawel, Michał/Michal, Marcin, Łukasz/Lukasz, Grzegorz, Jakub,
    Mariusz, Dariusz, Wojciech, Sebastian, Adam, Rafał/Rafal, Kamil, Mateusz, Bartosz, Damian"""
)
POLISH_FEMALE = _pool(
    """Anna, Katarzyna, Małgorzata/Malgorzata, Agnieszka, Magdalena, Joanna, Monika, Dorota, Ewa, Aleksandra,
    Barbara, Beata, Karolina, Justyna, Marta, Natalia, Paulina, Sylwia, Jolanta, Iwona"""
)
POLISH_FAMILY = _pool(
    """Nowak, Kowalski, Wiśniewski/Wisniewski, Wójcik/Wojcik, Kowalczyk, Kamiński/Kaminski, Lewandowski,
    Zieliński/Zielinski, Szymański/Szymanski, Woźniak/Wozniak, Dąbrowski/Dabrowski, Kozłowski/Kozlowski,
    Jankowski, Mazur, Krawczyk, Kaczmarek, Piotrowski, Grabowski, Zając/Zajac, Pawłowski/Pawlowski, Król/Krol,
    Wieczorek, Jabłoński/Jablonski, Wróbel/Wrobel, Nowakowski, Majewski, Olszewski, Stępień/Stepien"""
)
TIGRINYA_MALE = _pool(
    """Tesfay/Tesfai/Tesfaye, Yonas/Jonas/Yohannes, Dawit/Dawid, Filmon/Filimon, Samuel, Merhawi/Mehari,
    Habtom, Berhane/Berhani, Kidane, Tekle, Amanuel/Emanuel, Aron, Michael/Mikael, Ghirmay/Girmay,
    Mussie/Musie, Natnael/Nathanael, Robel, Semere, Yemane, Efrem/Ephrem, Selam, Teklit, Awet, Biniam/Biniyam"""
)
TIGRINYA_FEMALE = _pool(
    """Helen, Selam, Senait/Senayt, Mebrat, Saba, Yohana/Johanna, Ruta, Freweyni/Frewoini, Luwam, Winta,
    Hiwet, Lidia/Lydia, Yordanos/Jordanos, Tsega/Tsige, Merhawit, Elsa, Abeba, Rahel/Rachel, Feven, Semhar"""
)
TIGRINYA_FAMILY = _pool(
    """Tesfamariam/Tesfamarjam, Ghebremichael/Gebremichael/Gebremikael, Tekle, Haile/Hailu, Berhe, Kidane,
    Weldemariam/Woldemariam/Weldemarjam, Habte, Ghebreyesus/Gebreyesus, Mehari, Tsegay/Tsegai, Asmerom,
    Ghebrehiwet/Gebrehiwet, Andemariam, Zerai/Zeray, Tesfay/Tesfai, Yohannes, Abraham, Kahsay/Kassai,
    Ghirmay/Girmay, Okbamichael/Okbamikael"""
)
AMHARIC_MALE = _pool(
    """Abebe, Getachew/Getachev, Tadesse/Tadese, Dawit, Mulugeta, Alemayehu, Bekele, Yohannes/Johannes,
    Solomon, Tesfaye, Haile, Kebede, Girma, Biruk, Ermias, Henok, Natnael, Yared"""
)
AMHARIC_FEMALE = _pool(
    """Tigist, Meseret, Almaz, Hirut, Bethlehem/Betelhem, Selamawit, Tsehay, Genet, Mahlet, Rahel, Mekdes,
    Hanna/Hana, Eden, Kidist, Liya/Lia, Meron"""
)
AMHARIC_FAMILY = _pool(
    """Alemu, Bekele, Tadesse/Tadese, Girma, Kebede, Desta, Tesfaye, Assefa/Asefa, Wolde/Welde, Haile,
    Mengistu, Abebe, Tekle, Gebre/Ghebre, Lemma, Demissie/Demisse, Worku, Ayele, Negash, Mekonnen"""
)
SOMALI_MALE = _pool(
    """Abdi, Abdullahi/Abdulahi, Mohamed/Mohammed/Maxamed, Ahmed/Axmed, Hassan/Xasan, Ali/Cali, Yusuf,
    Abdirahman/Cabdiraxmaan, Omar/Cumar, Ismail, Mahad, Liban, Abdirizak/Abdirisaq, Said, Farah, Bashir"""
)
SOMALI_FEMALE = _pool(
    """Fadumo/Faadumo/Fadma, Hodan/Hodon, Sahra/Sahro, Asha/Aasha, Amina/Aamina, Hibo, Khadra/Khadro, Ayaan,
    Ifrah, Nimco/Nimo, Deeqa/Deka, Hawo/Hawa, Halima/Xaliimo, Ubah, Idil, Safiya"""
)
SOMALI_FAMILY = _pool(
    """Abdi, Mohamed/Mohammed/Maxamed, Ali/Cali, Hassan/Xasan, Farah/Faarax, Warsame, Jama/Jaamac, Egal,
    Hirsi/Xirsi, Nur/Nuur, Osman/Cismaan, Aden/Aadan, Abdullahi, Mohamud/Maxamuud, Yusuf, Ibrahim, Omar,
    Abdirahman, Dirie/Diriye, Elmi/Cilmi"""
)
NIGERIAN_MALE = _pool(
    """Chinedu, Emeka, Oluwaseun/Seun, Tunde/Babatunde, Ibrahim, Musa, Samuel, David, Godwin,
    Chukwuemeka, Ifeanyi, Kelechi, Olamide, Uche/Uchenna, Abdullahi, Sunday, Friday, Victor, Emmanuel,
    Osagie, Efosa, Osaro, Prince, Blessing"""
)
NIGERIAN_FEMALE = _pool(
    """Blessing, Chioma, Ngozi, Funmilayo/Funmi, Aisha, Grace, Precious, Adaeze, Esther, Joy, Favour/Favor,
    Mercy, Osas/Osasere, Faith, Happiness, Gift, Patience, Abosede, Omolara, Peace, Success, Osaretin"""
)
NIGERIAN_FAMILY = _pool(
    """Okafor, Okeke, Adeyemi, Oluwole, Eze, Nwosu, Ibrahim, Bello, Abubakar, Obi, Adebayo, Ogunleye,
    Nnamdi, Osagie, Igbinedion, Ehigiator, Okonkwo, Ogbonna, Uzor, Edosa, Omoregie, Aigbe, Idahosa,
    Uwaifo, Eghosa"""
)
GUINEAN_MALE = _pool(
    """Mamadou/Mamadu, Alpha/Alfa, Ibrahima, Amadou/Amadu, Ousmane/Usman, Mohamed/Mohammed, Abdoulaye/
    Abdulaye, Sekou/Sékou, Boubacar/Bubacar, Thierno/Tierno, Alseny, Lansana, Souleymane/Suleyman,
    Mamadou Saliou, Alhassane/Alhasan, Karamba, Fode/Fodé, Moussa/Musa"""
)
GUINEAN_FEMALE = _pool(
    """Fatoumata/Fatumata/Fatoumatta, Mariama/Mariam, Aissatou/Aïssatou/Aisatu, Kadiatou/Kadiatu, Hawa,
    Fanta, Aminata, Djenabou/Dienabou/Jenabu, Oumou/Umu, M'Mah/Mmah, Binta, Saran, Kadidja/Khadija,
    Hadja, Nènè/Nene"""
)
GUINEAN_FAMILY = _pool(
    """Diallo/Jallow, Barry/Bari, Bah/Ba, Sow/Sowe, Camara/Kamara, Condé/Conde/Konde, Keita/Keïta, Touré/
    Toure/Ture, Sylla/Silla, Kourouma/Kuruma, Baldé/Balde, Soumah/Suma, Cissé/Cisse, Traoré/Traore,
    Kanté/Kante, Doumbouya/Dumbuya, Souaré/Souare"""
)
VIETNAMESE_FAMILY = _pool(
    """Nguyễn/Nguyen, Trần/Tran, Lê/Le, Phạm/Pham, Hoàng/Hoang, Huỳnh/Huynh, Phan, Vũ/Vu, Võ/Vo, Đặng/
    Dang, Bùi/Bui, Đỗ/Do, Hồ/Ho, Ngô/Ngo, Dương/Duong, Lý/Ly"""
)
VIETNAMESE_MALE = _pool(
    """Văn Hùng/Van Hung, Văn Minh/Van Minh, Đức Anh/Duc Anh, Minh Tuấn/Minh Tuan, Văn Nam/Van Nam,
    Quốc Bảo/Quoc Bao, Thanh Tùng/Thanh Tung, Hoàng Long/Hoang Long, Văn Thắng/Van Thang, Công Phượng/
    Cong Phuong, Đình Khoa/Dinh Khoa, Hữu Phúc/Huu Phuc, Tiến Dũng/Tien Dung, Gia Huy/Gia Huy"""
)
VIETNAMESE_FEMALE = _pool(
    """Thị Lan/Thi Lan, Thị Mai/Thi Mai, Thị Hương/Thi Huong, Ngọc Anh/Ngoc Anh, Thu Hà/Thu Ha, Thị Hồng/
    Thi Hong, Thanh Hằng/Thanh Hang, Thị Thu/Thi Thu, Phương Linh/Phuong Linh, Thị Ngọc/Thi Ngoc,
    Minh Châu/Minh Chau, Bảo Ngọc/Bao Ngoc, Thùy Dung/Thuy Dung"""
)
ALBANIAN_MALE = _pool(
    """Arben, Besnik, Driton, Fatmir, Ilir, Valon, Agon, Blerim, Shkëlzen/Shkelzen/Schkelzen, Artan,
    Leotrim, Arbër/Arber, Bekim, Ardian, Florim, Gëzim/Gezim, Kushtrim, Liridon, Mentor, Burim, Granit,
    Egzon, Dardan, Enis"""
)
ALBANIAN_FEMALE = _pool(
    """Arta, Besa, Drita, Vjosa/Vjossa, Fjolla, Albana, Blerta, Mimoza, Lirije, Shqipe, Valbona, Arjeta,
    Elona, Teuta, Donika, Flutura, Merita, Edona, Shpresa, Ardita, Blerina, Qëndresa/Qendresa"""
)
ALBANIAN_FAMILY = _pool(
    """Krasniqi, Gashi, Berisha, Morina, Shala, Hoxha/Hodscha/Hodža, Bytyqi/Bytyçi, Kastrati, Rexhepi/
    Redzepi, Hasani, Kryeziu, Ahmeti, Dervishi/Derwischi, Leka, Çela/Cela, Hyseni, Thaqi/Thaçi, Sejdiu,
    Zeqiri, Rama, Musliu, Kelmendi, Mustafa, Halili, Ismaili, Bajrami, Osmani, Haziri, Shehu, Sopi"""
)

# Long tail: rarer family names formed the way the naming traditions form them (root + suffix), so that a
# large database has as many distinct names as a real one instead of a few hundred people per name.

_TURKISH_ASCII = str.maketrans({"ş": "s", "Ş": "S", "ğ": "g", "ı": "i", "İ": "I", "ç": "c", "Ç": "C", "ö": "o",
                                "Ö": "O", "ü": "u", "Ü": "U", "ă": "a", "â": "a", "î": "i", "ș": "s", "Ș": "S",
                                "ț": "t", "Ț": "T", "ë": "e", "Ë": "E"})  # fmt: skip


def _ascii_spellings(text: str) -> tuple[str, ...]:
    plain = text.translate(_TURKISH_ASCII)
    return (text,) if plain == text else (text, plain)


def _tail(roots: str, suffixes: str, *, arabic_article: bool = False) -> tuple[Name, ...]:
    """Names ``root + suffix`` (native script when both parts have it: ``Petr=Петр`` + ``enko=енко``)."""
    out: list[Name] = []
    for root in _pool(roots):
        for suffix in _pool(suffixes) if suffixes else [(("",), "")]:
            latin = root[0][0] + suffix[0][0]
            native = root[1] + suffix[1] if root[1] and suffix[1] else None
            if arabic_article:
                out.append(((f"Al-{latin}", f"Al{latin.lower()}", f"Al {latin}", f"El-{latin}"), None))
                out.append(((latin,), None))
            else:
                out.append((_ascii_spellings(latin), native))
    return tuple(out)


ARABIC_TAIL = _tail(
    """Halabi, Homsi, Shami, Masri, Tamimi, Khatib, Hariri, Zein, Sabbagh, Sayegh, Attar, Najjar, Jabbour,
    Hallak, Bitar, Daher, Kanaan, Saad, Sakka, Jundi, Bakri, Dabbagh, Kassab, Mardini, Azzam, Rifai, Idlibi,
    Qudsi, Shaar, Hourani, Naasan, Jammal, Hammoud, Obeid, Ramadan, Shihabi, Abbas, Hakim, Khayat, Sawaf,
    Tahhan, Hijazi, Nabulsi, Ghazal, Akkad, Kayali, Tayeb, Zaher, Issa, Moussa, Hamdi, Rahhal, Khalaf,
    Jasem, Hamad, Ahmar, Abed, Hamid, Kheder, Salloum, Haj Hussein, Mahmoud, Aboud, Dakhil, Hilal, Faraj,
    Badawi, Karim, Shehadeh, Asaad, Barakat, Awad, Diab, Fares, Ghanem, Habib, Hasno, Jaber, Kamel, Labban""",
    "",
    arabic_article=True,
)
AFGHAN_TAIL = _tail(
    """Ahmad, Rahim, Karim, Hakim, Nazar, Rasul, Sultan, Amir, Aziz, Habib, Hamid, Jalal, Jamal, Kabir,
    Latif, Majid, Nasir, Qadir, Rahman, Rashid, Safar, Salim, Samad, Wahid, Yusuf, Zaman, Zaher, Haidar,
    Sharif, Noor, Gul, Faiz, Hashim, Mansoor, Mirza, Sadiq, Shah, Wali, Zarif, Omar""",
    "i, zai, yar, zada, khil, i, i",
)
PERSIAN_TAIL = _tail(
    """Ahmad, Rahim, Karim, Hakim, Nazar, Rasul, Sultan, Amir, Aziz, Habib, Hamid, Jalal, Kabir, Majid,
    Nasir, Ghader, Rahman, Rashid, Safar, Salim, Samad, Vahid, Yousef, Zaman, Heidar, Sharif, Nour, Mirza,
    Sadegh, Shah, Vali, Jafar, Mohseni, Tavakol, Bagher, Esmail, Kazem, Asghar, Mahmoud, Abbas""",
    "i, ian, pour, zadeh, nia, far, i",
)
TURKISH_TAIL = _tail(
    """Kara, Ak, Ay, Er, Öz, Gül, Demir, Tur, Kor, Şen, Gök, Bal, Can, Çak, Kılıç, Tun, Uç, Yal, Al, Taş, Bay,
    Sarı, Karaca""",
    "kaya, taş, soy, doğan, türk, han, men, dağ, oğlu, er, can, çelik, yurt, tekin, bay, bulut",
)
UKRAINIAN_TAIL = _tail(
    """Martyn=Мартин, Hryts=Гриц, Kost=Кост, Lev=Лев, Pavl=Павл, Dem=Дем, Stepan=Степан, Yarem=Ярем, Fed=Фед,
    Sav=Сав, Kharch=Харч, Kozl=Козл, Mykhail=Михайл, Kyryl=Кирил, Naum=Наум, Vasyl=Васил, Roman=Роман,
    Zakhar=Захар, Yakym=Яким, Oles=Олес, Ostap=Остап, Ivan=Іван, Petr=Петр, Symon=Симон, Tymofi=Тимофі,
    Hordi=Горді, Prokop=Прокоп, Maksym=Максим, Semen=Семен, Danyl=Данил, Herasym=Герасим""",
    "enko=енко, iuk=юк, chuk=чук, yshyn=ишин",
)
RUSSIAN_TAIL = _pool(
    """Petrov=Петров, Sergeev=Сергеев, Andreev=Андреев, Orlov=Орлов, Zaitsev=Зайцев, Belov=Белов, Gusev=Гусев,
    Titov=Титов, Komarov=Комаров, Kiselev=Киселев, Makarov=Макаров, Nikitin=Никитин, Zakharov=Захаров,
    Sorokin=Сорокин, Vinogradov=Виноградов, Bogdanov=Богданов, Frolov=Фролов, Grigorev=Григорьев,
    Tarasov=Тарасов, Denisov=Денисов, Filippov=Филиппов, Gerasimov=Герасимов, Kalinin=Калинин, Lukin=Лукин,
    Matveev=Матвеев, Naumov=Наумов, Osipov=Осипов, Rodionov=Родионов, Savelev=Савельев, Timofeev=Тимофеев,
    Baranov=Баранов, Kovalev=Ковалев, Ilin=Ильин, Gavrilov=Гаврилов, Medvedev=Медведев, Antonov=Антонов,
    Tikhonov=Тихонов, Ershov=Ершов, Nikolaev=Николаев, Shcherbakov=Щербаков"""
)
BULGARIAN_TAIL = _pool(
    """Kostadinov=Костадинов, Mihaylov=Михайлов, Stefanov=Стефанов, Atanasov=Атанасов, Marinov=Маринов,
    Yankov=Янков, Kirilov=Кирилов, Zlatev=Златев, Draganov=Драганов, Petkov=Петков, Rusev=Русев, Slavov=Славов,
    Bozhilov=Божилов, Tsankov=Цанков, Penev=Пенев, Mitkov=Митков, Dobrev=Добрев, Yovchev=Йовчев,
    Grozdanov=Грозданов, Lyubenov=Любенов, Popov=Попов, Tonchev=Тончев, Velikov=Великов, Stoev=Стоев,
    Kolarov=Коларов, Genchev=Генчев, Marinchev=Маринчев, Simeonov=Симеонов, Radev=Радев, Minchev=Минчев"""
)
ROMANIAN_TAIL = _pool(
    """Dumitrescu, Rădulescu/Radulescu, Vasilescu, Petrescu, Nicolescu, Mihăilescu/Mihailescu, Tudorache,
    Marinescu, Stănescu/Stanescu, Vlădescu/Vladescu, Gheorghiu, Ștefănescu/Stefanescu, Dragomir, Mocanu,
    Barbu, Cojocaru, Croitoru, Lupu, Olaru, Grigore, Manole, Iordache, Păun/Paun, Sandu, Voicu, Diaconu,
    Enache, Nistor, Oprea, Preda, Rotaru, Tudose, Ungureanu, Vlad, Zaharia, Anghel, Bogdan, Călin/Calin,
    Chiriac, Ciocan, Dincă/Dinca, Ene, Filip, Gavrilă/Gavrila, Ilie, Jitaru, Mircea, Neagu, Nedelcu,
    Pană/Pana, Răducanu/Raducanu, Sava, Șerban/Serban/Şerban, Tudor, Văduva/Vaduva, Bucur, Căpraru/Capraru"""
)
TIGRINYA_TAIL = _tail(
    "Gebre, Tesfa, Wolde, Welde, Habte, Haile, Tekle, Ghebre, Zere, Kidane, Berhane, Okba, Ande",
    "mariam, michael, mikael, yesus, selassie, medhin, giorgis, kidan, hiwet",
)
NIGERIAN_TAIL = _pool(
    """Oluwaseun, Oluwatobi, Oluwafemi, Adeyemi, Adebayo, Adewale, Adetunji, Adeleke, Adekunle, Chukwuemeka,
    Chukwudi, Chukwuma, Chukwunonso, Okonkwo, Okoro, Olawale, Oladele, Olamide, Igwe, Nwachukwu, Nwankwo,
    Obinna, Ayodele, Ayodeji, Ogunbiyi, Ogundipe, Osaretin, Ehigie, Ehimen, Ifeanyi, Ezeh, Onyeka, Onwuka,
    Uchenna, Akinola, Akinwale, Babatunde, Balogun, Ibekwe, Iwu, Nnaji, Odum, Ojo, Osazuwa, Uzoma, Agbaje,
    Ajayi, Alabi, Bamidele, Ekwueme, Emenike, Ogbeide, Osayande, Iyamu, Eweka"""
)
ALBANIAN_TAIL = _pool(
    """Dedaj, Gjonaj, Lekaj, Lulaj, Ndrecaj, Prenaj, Nikaj, Markaj, Gjokaj, Kolaj, Palaj, Zefaj, Shalaj, Tahiraj,
    Balaj, Dushaj, Hotaj, Kuqi, Lladrovci, Maloku, Pepaj, Prelaj, Rrustemi, Sylejmani, Tomaj, Ukaj, Vataj,
    Xhaferi, Gjergjaj, Hasanaj, Kadriu, Latifi, Mehmeti, Neziri, Qerimi, Salihu, Tafa, Veseli, Ymeri, Zeka,
    Aliu, Bajraktari, Demaj, Elezi, Fazliu, Gjoka, Hajdari, Idrizi, Berisha/Berishaj, Çollaku/Collaku"""
)


# --- origins ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Group:
    """One naming tradition within an origin (Syria: Arabic and Kurdish names, Russia: Russian and Chechen)."""

    weight: int
    male: tuple[Name, ...]
    female: tuple[Name, ...]
    family: tuple[Name, ...]
    languages: tuple[str, ...]  # native languages, first = language for interpreting
    naming: str = "keep"  # keep: spouses keep their names | take: wife takes husband's | patronymic
    gendered: bool = False  # Slavic/Polish family names have a female form
    primary_rate: float = 0.6  # chance of the most common spelling
    variant_rate: float = 0.15  # chance that another spelling is on record
    native_rate: float = 0.0  # chance that the native-script spelling is on record
    family_tail: tuple[Name, ...] = ()  # rarer family names
    tail_rate: float = 0.5  # chance of a family name from the tail


@dataclass(frozen=True)
class _Origin:
    code: str
    weight: int
    groups: tuple[_Group, ...]
    statuses: tuple[tuple[str, int], ...]
    places: tuple[str, ...]
    entry_from: date
    placeholder_rate: float = 0.03  # 01.01.YYYY
    max_children: int = 4
    transit: str | None = None  # country where younger children were often born on the way
    extra_languages: tuple[tuple[str, float], ...] = ()


# fmt: off
_ARABIC = _Group(10, ARABIC_MALE, ARABIC_FEMALE, ARABIC_FAMILY, ("ar",), variant_rate=0.25, family_tail=ARABIC_TAIL)
_KURDISH_AR = _Group(4, KURDISH_MALE, KURDISH_FEMALE, KURDISH_FAMILY, ("ku", "ar"), variant_rate=0.2,
                     family_tail=ARABIC_TAIL, tail_rate=0.3)
_AFGHAN = _Group(10, AFGHAN_MALE, AFGHAN_FEMALE, AFGHAN_FAMILY, ("fa_AF",), variant_rate=0.25, family_tail=AFGHAN_TAIL)
_PASHTO = _Group(4, AFGHAN_MALE, AFGHAN_FEMALE, AFGHAN_FAMILY, ("ps", "fa_AF"), variant_rate=0.25,
                 family_tail=AFGHAN_TAIL)
_SLAVIC_UA = _Group(10, UKRAINIAN_MALE, UKRAINIAN_FEMALE, UKRAINIAN_FAMILY, ("uk", "ru"), naming="take",
                    gendered=True, primary_rate=0.85, variant_rate=0.12, native_rate=0.45,
                    family_tail=UKRAINIAN_TAIL)
_RUSSIAN = _Group(6, RUSSIAN_MALE, RUSSIAN_FEMALE, RUSSIAN_FAMILY, ("ru",), naming="take", gendered=True,
                  primary_rate=0.8, variant_rate=0.15, native_rate=0.4, family_tail=RUSSIAN_TAIL)
_CHECHEN = _Group(5, CHECHEN_MALE, CHECHEN_FEMALE, CHECHEN_FAMILY, ("ru",), naming="keep", gendered=True,
                  primary_rate=0.8, variant_rate=0.15, native_rate=0.35)
_BULGARIAN = _Group(6, BULGARIAN_MALE, BULGARIAN_FEMALE, BULGARIAN_FAMILY, ("bg",), naming="take", gendered=True,
                    primary_rate=0.85, variant_rate=0.08, native_rate=0.3, family_tail=BULGARIAN_TAIL)
_BULGARIAN_TR = _Group(4, BULGARIAN_TR_MALE, BULGARIAN_TR_FEMALE, BULGARIAN_TR_FAMILY, ("tr", "bg"), naming="take",
                       gendered=True, primary_rate=0.8, variant_rate=0.12, native_rate=0.3)
_TURKISH = _Group(7, TURKISH_MALE, TURKISH_FEMALE, TURKISH_FAMILY, ("tr",), naming="take", primary_rate=0.85,
                  family_tail=TURKISH_TAIL)
_KURDISH_TR = _Group(3, KURDISH_TR_MALE, KURDISH_TR_FEMALE, KURDISH_TR_FAMILY, ("ku", "tr"), naming="take",
                     primary_rate=0.85, family_tail=TURKISH_TAIL, tail_rate=0.3)
_ROMANIAN = _Group(10, ROMANIAN_MALE, ROMANIAN_FEMALE, ROMANIAN_FAMILY, ("ro",), naming="take", primary_rate=0.8,
                   variant_rate=0.08, family_tail=ROMANIAN_TAIL)
_POLISH = _Group(10, POLISH_MALE, POLISH_FEMALE, POLISH_FAMILY, ("pl",), naming="take", gendered=True,
                 primary_rate=0.85, variant_rate=0.08)
_TIGRINYA = _Group(10, TIGRINYA_MALE, TIGRINYA_FEMALE, TIGRINYA_FAMILY, ("ti",), naming="patronymic",
                   variant_rate=0.25, family_tail=TIGRINYA_TAIL)
_AMHARIC = _Group(10, AMHARIC_MALE, AMHARIC_FEMALE, AMHARIC_FAMILY, ("am",), naming="patronymic",
                  variant_rate=0.15, family_tail=TIGRINYA_TAIL, tail_rate=0.3)
_SOMALI = _Group(10, SOMALI_MALE, SOMALI_FEMALE, SOMALI_FAMILY, ("so",), naming="patronymic", variant_rate=0.25)
_NIGERIAN = _Group(10, NIGERIAN_MALE, NIGERIAN_FEMALE, NIGERIAN_FAMILY, ("en", "yo", "ig"), naming="take",
                   primary_rate=0.85, variant_rate=0.08, family_tail=NIGERIAN_TAIL)
_NIGERIAN_EDO = _Group(4, NIGERIAN_MALE, NIGERIAN_FEMALE, NIGERIAN_FAMILY, ("en", "ha"), naming="take",
                       primary_rate=0.85, variant_rate=0.08, family_tail=NIGERIAN_TAIL)
_GUINEAN = _Group(10, GUINEAN_MALE, GUINEAN_FEMALE, GUINEAN_FAMILY, ("ff", "fr"), variant_rate=0.2)
_PERSIAN = _Group(10, PERSIAN_MALE, PERSIAN_FEMALE, PERSIAN_FAMILY, ("fa",), variant_rate=0.2,
                  family_tail=PERSIAN_TAIL)
_VIETNAMESE = _Group(10, VIETNAMESE_MALE, VIETNAMESE_FEMALE, VIETNAMESE_FAMILY, ("vi",), primary_rate=0.85,
                     variant_rate=0.2)
_ALBANIAN = _Group(10, ALBANIAN_MALE, ALBANIAN_FEMALE, ALBANIAN_FAMILY, ("sq",), naming="take", primary_rate=0.8,
                   variant_rate=0.1, family_tail=ALBANIAN_TAIL)
# fmt: on

_PROTECTED = (("schutz_25_1_2", 45), ("gestattung", 12), ("familiennachzug", 10), ("niederlassung", 10),
              ("abschiebungsverbot_25_3", 8), ("aufenthalt_25_5", 4), ("bleiberecht_25a_25b", 4), ("deutsch", 4),
              ("duldung", 3))  # fmt: skip
_ASYLUM_MIXED = (("gestattung", 25), ("duldung", 30), ("duldung_60b", 8), ("ausbildungsduldung", 8),
                 ("beschaeftigungsduldung", 5), ("chancen_aufenthaltsrecht", 8), ("bleiberecht_25a_25b", 5),
                 ("aufenthalt_25_5", 5), ("schutz_25_1_2", 6))  # fmt: skip
_EU = (("eu_freizuegigkeit", 97), ("niederlassung", 2), ("ungeklaert", 1))

ORIGINS: tuple[_Origin, ...] = (
    _Origin("SY", 20, (_ARABIC, _KURDISH_AR), _PROTECTED,
            ("Aleppo", "Damaskus", "Homs", "Hama", "Idlib", "Deir ez-Zor", "Ar-Raqqa", "Latakia", "Al-Hasaka",
             "Qamishli", "Afrin", "Daraa"), date(2014, 1, 1), transit="TR",
            extra_languages=(("en", 0.2), ("tr", 0.1))),
    _Origin("UA", 17, (_SLAVIC_UA,), (("schutz_24", 88), ("familiennachzug", 3), ("erwerb_ausbildung_studium", 5),
                                        ("niederlassung", 2), ("ungeklaert", 2)),
            ("Kyjiw", "Charkiw", "Odesa", "Dnipro", "Saporischschja", "Mykolajiw", "Cherson", "Lwiw", "Mariupol",
             "Sumy", "Poltawa", "Tschernihiw", "Krywyj Rih"), date(2022, 3, 1), placeholder_rate=0.0,
            max_children=3, extra_languages=(("en", 0.3),)),
    _Origin("AF", 11, (_AFGHAN, _PASHTO), (("gestattung", 22), ("duldung", 13), ("abschiebungsverbot_25_3", 22),
                                           ("schutz_25_1_2", 25), ("chancen_aufenthaltsrecht", 5),
                                           ("bleiberecht_25a_25b", 5), ("familiennachzug", 4),
                                           ("ausbildungsduldung", 4)),
            ("Kabul", "Herat", "Kandahar", "Masar-e Scharif", "Kundus", "Dschalalabad", "Ghazni", "Baglan",
             "Logar", "Teheran"), date(2015, 6, 1), placeholder_rate=0.3, max_children=5, transit="IR",
            extra_languages=(("en", 0.15), ("ur", 0.05))),
    _Origin("IQ", 7, (_ARABIC, _KURDISH_AR, _KURDISH_AR), (("schutz_25_1_2", 28), ("gestattung", 14),
                                                         ("duldung", 20), ("ausbildungsduldung", 3),
                                                         ("beschaeftigungsduldung", 3),
                                                         ("chancen_aufenthaltsrecht", 8),
                                                         ("bleiberecht_25a_25b", 6), ("niederlassung", 12),
                                                         ("familiennachzug", 6)),
            ("Bagdad", "Mossul", "Erbil", "Basra", "Kirkuk", "Dohuk", "Sindschar", "Sulaimaniyya", "Zakho"),
            date(2014, 8, 1), placeholder_rate=0.12, max_children=5, transit="TR"),
    _Origin("TR", 8, (_TURKISH, _KURDISH_TR), (("gestattung", 28), ("schutz_25_1_2", 14), ("niederlassung", 16),
                                               ("familiennachzug", 16), ("erwerb_ausbildung_studium", 10),
                                               ("deutsch", 4), ("duldung", 12)),
            ("Istanbul", "Ankara", "İzmir", "Gaziantep", "Diyarbakır", "Şanlıurfa", "Mardin", "Van", "Batman",
             "Konya", "Kayseri"), date(2012, 1, 1), placeholder_rate=0.02, extra_languages=(("en", 0.2),)),
    _Origin("RO", 7, (_ROMANIAN,), _EU,
            ("Bukarest", "Iași", "Constanța", "Craiova", "Timișoara", "Cluj-Napoca", "Brașov", "Galați",
             "Bacău", "Suceava", "Botoșani"), date(2010, 1, 1), placeholder_rate=0.0,
            extra_languages=(("en", 0.15), ("it", 0.08))),
    _Origin("BG", 5, (_BULGARIAN, _BULGARIAN_TR), _EU,
            ("Sofia", "Plowdiw", "Warna", "Burgas", "Russe", "Stara Sagora", "Pasardschik", "Schumen",
             "Sliwen", "Kardschali"), date(2010, 1, 1), placeholder_rate=0.0),
    _Origin("PL", 5, (_POLISH,), _EU,
            ("Warszawa", "Kraków", "Wrocław", "Poznań", "Gdańsk", "Łódź", "Szczecin", "Opole", "Katowice",
             "Białystok"), date(2008, 1, 1), placeholder_rate=0.0, extra_languages=(("en", 0.3),)),
    _Origin("ER", 4, (_TIGRINYA,), (("schutz_25_1_2", 55), ("familiennachzug", 14), ("gestattung", 14),
                                    ("abschiebungsverbot_25_3", 5), ("niederlassung", 8), ("duldung_60b", 4)),
            ("Asmara", "Keren", "Massawa", "Mendefera", "Dekemhare", "Adi Keyh", "Barentu"), date(2014, 1, 1),
            placeholder_rate=0.35, max_children=4, transit="SD", extra_languages=(("ar", 0.15), ("en", 0.2))),
    _Origin("NG", 3, (_NIGERIAN, _NIGERIAN_EDO), _ASYLUM_MIXED,
            ("Lagos", "Abuja", "Benin City", "Kano", "Ibadan", "Port Harcourt", "Enugu", "Warri"),
            date(2015, 1, 1), placeholder_rate=0.08, max_children=3, transit="IT"),
    _Origin("GN", 2, (_GUINEAN,), _ASYLUM_MIXED,
            ("Conakry", "Kankan", "Labé", "Nzérékoré", "Kindia", "Boké", "Mamou"), date(2015, 1, 1),
            placeholder_rate=0.3, max_children=2),
    _Origin("IR", 4, (_PERSIAN,), (("gestattung", 24), ("schutz_25_1_2", 38), ("abschiebungsverbot_25_3", 9),
                                   ("duldung", 10), ("niederlassung", 10), ("erwerb_ausbildung_studium", 9)),
            ("Teheran", "Maschhad", "Isfahan", "Schiras", "Täbris", "Karadsch", "Ahvaz", "Kermanschah"),
            date(2013, 1, 1), placeholder_rate=0.03, max_children=3, extra_languages=(("en", 0.4),)),
    _Origin("VN", 2, (_VIETNAMESE,), (("familiennachzug", 30), ("erwerb_ausbildung_studium", 28),
                                      ("niederlassung", 24), ("duldung", 8), ("deutsch", 10)),
            ("Hanoi", "Ho-Chi-Minh-Stadt", "Hải Phòng", "Đà Nẵng", "Nghệ An", "Hà Tĩnh", "Nam Định"),
            date(2008, 1, 1), placeholder_rate=0.0, max_children=3, extra_languages=(("en", 0.2),)),
    _Origin("SO", 2, (_SOMALI,), (("schutz_25_1_2", 40), ("gestattung", 20), ("abschiebungsverbot_25_3", 15),
                                  ("duldung", 15), ("familiennachzug", 10)),
            ("Mogadischu", "Hargeysa", "Kismaayo", "Baidoa", "Beledweyne", "Garoowe"), date(2014, 1, 1),
            placeholder_rate=0.35, max_children=5, extra_languages=(("ar", 0.3), ("en", 0.2))),
    _Origin("RU", 3, (_RUSSIAN, _CHECHEN), (("gestattung", 30), ("schutz_25_1_2", 20), ("duldung", 20),
                                           ("familiennachzug", 15), ("niederlassung", 10),
                                           ("erwerb_ausbildung_studium", 5)),
            ("Moskau", "Grosny", "Sankt Petersburg", "Machatschkala", "Kasan", "Nowosibirsk", "Gudermes",
             "Nasran"), date(2013, 1, 1), placeholder_rate=0.0, max_children=4, extra_languages=(("en", 0.2),)),
    _Origin("XK", 3, (_ALBANIAN,), (("erwerb_ausbildung_studium", 35), ("familiennachzug", 20), ("duldung", 14),
                                    ("gestattung", 6), ("niederlassung", 18), ("bleiberecht_25a_25b", 7)),
            ("Prishtina", "Prizren", "Peja", "Gjakova", "Mitrovica", "Ferizaj", "Gjilan"), date(2012, 1, 1),
            placeholder_rate=0.01, extra_languages=(("sr", 0.3),)),
    _Origin("AL", 2, (_ALBANIAN,), (("erwerb_ausbildung_studium", 40), ("familiennachzug", 20), ("duldung", 12),
                                    ("gestattung", 8), ("niederlassung", 20)),
            ("Tirana", "Durrës", "Shkodra", "Elbasan", "Vlora", "Korça", "Fier"), date(2012, 1, 1),
            placeholder_rate=0.01, extra_languages=(("it", 0.25), ("en", 0.2))),
    _Origin("ET", 2, (_AMHARIC,), (("schutz_25_1_2", 35), ("gestattung", 25), ("duldung", 25),
                                   ("abschiebungsverbot_25_3", 10), ("familiennachzug", 5)),
            ("Addis Abeba", "Dire Dawa", "Gondar", "Mekele", "Bahir Dar", "Hawassa", "Jimma"), date(2014, 1, 1),
            placeholder_rate=0.25, max_children=3, transit="SD", extra_languages=(("en", 0.3), ("ar", 0.1))),
)  # fmt: skip

# --- places, code choices and text ---------------------------------------------------------------------

#: Towns of the Kreis Coesfeld: (name, postcode, area code, weight ~ population).
TOWNS = (
    ("Dülmen", "48249", "02594", 47), ("Coesfeld", "48653", "02541", 37), ("Lüdinghausen", "59348", "02591", 25),
    ("Senden", "48308", "02597", 21), ("Nottuln", "48301", "02502", 20), ("Ascheberg", "59387", "02593", 15),
    ("Olfen", "59399", "02595", 13), ("Havixbeck", "48329", "02507", 12), ("Billerbeck", "48727", "02543", 12),
    ("Rosendahl", "48720", "02547", 11), ("Nordkirchen", "59394", "02596", 10),
)  # fmt: skip
_STREET_HEADS = (
    "Amsel", "Birken", "Buchen", "Drossel", "Eichen", "Erlen", "Fichten", "Finken", "Ginster", "Hasel",
    "Holunder", "Kastanien", "Lerchen", "Linden", "Meisen", "Mohn", "Raben", "Schlehen", "Tannen", "Ulmen",
    "Weiden", "Wacholder", "Kornblumen", "Heide", "Mühlen", "Brunnen", "Kiebitz", "Reiher", "Storchen",
    "Pappel", "Eschen", "Hagebutten", "Sonnen", "Wiesen", "Bach", "Kapellen", "Flachs", "Hopfen", "Hofkamp",
)  # fmt: skip
_STREET_TAILS = ("weg", "straße", "ring", "pfad", "kamp", "stiege", "gasse", "allee", "feld", "grund", "hof")
_ADDRESS_EXTRAS = ("Zimmer {n}", "Übergangswohnheim, Zimmer {n}", "Wohnung {n}", "c/o Unterkunft, App. {n}",
                   "2. OG links", "Hinterhaus")  # fmt: skip
_MOBILE_PREFIXES = ("0151", "0152", "0157", "0159", "0160", "0162", "0163", "0170", "0171", "0172", "0173",
                    "0174", "0175", "0176", "0177", "0178", "0179", "01521", "01575")  # fmt: skip
_BIRTH_TOWNS_DE = ("Coesfeld", "Dülmen", "Lüdinghausen", "Münster", "Haltern am See", "Borken")

PHASES = ("intake", "assessment", "planning", "implementation", "monitoring", "closed")
_PHASE_WEIGHTS = (10, 10, 12, 23, 13, 32)
#: Days since opening, per current phase.
_PHASE_AGE = {"intake": (0, 45), "assessment": (10, 120), "planning": (20, 220), "implementation": (45, 700),
              "monitoring": (120, 1000), "closed": (60, 1400)}  # fmt: skip
_ACCESS = (
    ("sprechstunde", 25),
    ("auslaenderbehoerde", 15),
    ("jobcenter", 15),
    ("sozialamt", 10),
    ("schule", 7),
    ("beratungsstelle", 10),
    ("ehrenamt", 6),
    ("selbstmelder", 8),
    ("hausbesuch", 2),
    ("sonstiges", 2),
)
_CLOSURE = (
    ("ziele_erreicht", 35),
    ("teilweise_erreicht", 25),
    ("uebergabe", 12),
    ("wegzug", 9),
    ("kein_kontakt", 10),
    ("abbruch_klient", 4),
    ("ausreise", 2),
    ("verstorben", 1),
    ("sonstiges", 2),
)
_ACHIEVEMENT = {"ziele_erreicht": "full", "teilweise_erreicht": "partial", "uebergabe": "partial"}
_CONTACT = (
    ("persoenlich", 45),
    ("telefon", 24),
    ("email", 8),
    ("begleitung", 6),
    ("hausbesuch", 5),
    ("videoberatung", 2),
    ("netzwerk", 7),
    ("notiz", 3),
)
_APPOINTMENT_TYPES = (
    ("beratung", 60),
    ("sprechstunde", 10),
    ("hausbesuch", 10),
    ("begleitung", 10),
    ("fallkonferenz", 5),
    ("gruppenangebot", 5),
)
_APPOINTMENT_TITLES = {
    "beratung": ("Beratungsgespräch", "Folgeberatung", "Beratung Hilfeplan", "Erstgespräch"),
    "sprechstunde": ("Offene Sprechstunde",),
    "hausbesuch": ("Hausbesuch",),
    "begleitung": ("Begleitung Ausländerbehörde", "Begleitung Jobcenter", "Begleitung Schulanmeldung",
                   "Begleitung Wohnungsbesichtigung", "Begleitung Arzttermin"),
    "fallkonferenz": ("Fallkonferenz mit Jobcenter", "Fallkonferenz mit Schule", "Fallkonferenz"),
    "gruppenangebot": ("Infoabend Integrationskurs", "Elterncafé", "Bewerbungswerkstatt"),
}  # fmt: skip
_LIFE_AREAS = (
    ("aufenthalt", 22),
    ("sprache", 22),
    ("arbeit", 18),
    ("wohnen", 12),
    ("finanzen", 12),
    ("bildung_schule", 8),
    ("gesundheit", 7),
    ("familie", 7),
    ("teilhabe", 4),
)
_AREA_OFFERS = {
    "sprache": ("integrationskurs", "berufssprachkurs", "jugendintegrationskurs"),
    "arbeit": ("jobcenter", "agentur_fuer_arbeit", "anerkennungsberatung"),
    "aufenthalt": ("rechtsberatung", "mbe"), "bildung_schule": ("schule_kita", "jmd"),
    "gesundheit": ("gesundheit", "psychosozial"), "wohnen": ("wohnen",), "finanzen": ("schuldnerberatung",),
    "familie": ("schule_kita", "mbe"), "teilhabe": ("ehrenamt",),
}  # fmt: skip
_GERMAN_LEVELS = (("none", 14), ("A1", 24), ("A2", 24), ("B1", 20), ("B2", 10), ("C1", 6), ("C2", 2))
_OTHER_LEVELS = (("A2", 20), ("B1", 30), ("B2", 25), ("C1", 20), ("C2", 5))

_AREA_SENTENCES = {
    "aufenthalt": (
        "Verlängerung der Aufenthaltserlaubnis besprochen, Antrag bei der Ausländerbehörde vorbereitet.",
        "Fiktionsbescheinigung liegt vor; Termin bei der Ausländerbehörde ist vereinbart.",
        "Voraussetzungen für ein Bleiberecht nach § 25b besprochen, Unterlagen zusammengestellt.",
        "Passbeschaffung besprochen, Termin beim Konsulat wird selbst vereinbart.",
        "Schreiben der Ausländerbehörde gemeinsam gelesen und erklärt.",
        "Anhörung beim BAMF vorbesprochen, Kontakt zur Asylverfahrensberatung hergestellt.",
    ),
    "sprache": (
        "Beratung zu Integrationskurs, Antrag besprochen.",
        "Anmeldung zum Integrationskurs beim Kursträger erfolgt, Beginn im nächsten Monat.",
        "Berechtigungsschein für den Integrationskurs liegt vor.",
        "Berufssprachkurs B2 besprochen, Anmeldung über das Jobcenter.",
        "Sprachstand eingeschätzt, Kurs mit Kinderbetreuung gesucht.",
        "Prüfung DTZ bestanden (B1), nächste Schritte besprochen.",
    ),
    "bildung_schule": (
        "Schulanmeldung der Kinder besprochen, Unterlagen für das Schulamt zusammengestellt.",
        "Gespräch mit der Klassenlehrerin gemeinsam vorbereitet.",
        "Kita-Platz: Anmeldung über das Kita-Portal gemeinsam vorgenommen.",
        "Bildungs- und Teilhabepaket: Antrag für Schulbedarf gestellt.",
    ),
    "arbeit": (
        "Anerkennung des Berufsabschlusses: Unterlagen für die Anerkennungsberatung zusammengestellt.",
        "Lebenslauf erstellt und Bewerbungen besprochen.",
        "Praktikumsplatz im Handwerk in Aussicht, Kontakt zum Betrieb hergestellt.",
        "Beschäftigungserlaubnis bei der Ausländerbehörde beantragt.",
        "Termin bei der Agentur für Arbeit wegen Ausbildungsplatz vereinbart.",
        "Arbeitsvertrag besprochen, Fragen zu Probezeit und Lohnabrechnung geklärt.",
    ),
    "wohnen": (
        "Wohnungssuche besprochen, WBS-Antrag ausgefüllt.",
        "Mietvertrag erklärt, Fragen zur Nebenkostenabrechnung geklärt.",
        "Umzug aus der Unterkunft in eine eigene Wohnung wird vorbereitet.",
        "Kontakt zum Vermieter wegen Schimmel in der Wohnung aufgenommen.",
        "Wohnsitzauflage besprochen, Antrag auf Umverteilung geprüft.",
    ),
    "gesundheit": (
        "Hausarzt gesucht, Termin vereinbart.",
        "Krankenversicherung geklärt, Gesundheitskarte beantragt.",
        "Kontakt zur psychosozialen Beratung hergestellt.",
        "Impfungen der Kinder besprochen, Termin beim Kinderarzt vereinbart.",
    ),
    "familie": (
        "Familiennachzug besprochen, Unterlagen für die Botschaft zusammengestellt.",
        "Elterngeld und Kindergeld erklärt, Anträge ausgefüllt.",
        "Kontakt zum Familienzentrum hergestellt.",
        "Unterstützung bei der Anmeldung der Kinder in der OGS.",
    ),
    "finanzen": (
        "Bescheid des Jobcenters erklärt, Weiterbewilligungsantrag ausgefüllt.",
        "Schulden besprochen, Kontakt zur Schuldnerberatung hergestellt.",
        "Kontoeröffnung besprochen, Unterlagen für die Bank zusammengestellt.",
        "Wohngeldantrag gemeinsam ausgefüllt.",
        "Mahnung erklärt, Ratenzahlung vereinbart.",
    ),
    "teilhabe": (
        "Sportverein für die Kinder gesucht, Kontakt hergestellt.",
        "Patenschaft über das Ehrenamt vermittelt.",
        "Frauencafé im Familienzentrum vorgestellt.",
        "Angebote der Stadtbücherei erklärt, Leseausweis beantragt.",
    ),
}
#: Per life area: (situation, needs, goal titles, steps).
_CASE_PLAN = {
    "aufenthalt": ("Aufenthaltstitel befristet, Verlängerung steht an.", "Unterstützung bei Anträgen und Fristen.",
                   ("Aufenthalt sichern", "Verlängerung der Aufenthaltserlaubnis", "Bleiberecht prüfen"),
                   ("Unterlagen für die Ausländerbehörde zusammenstellen", "Termin bei der Ausländerbehörde buchen",
                    "Passbeschaffung klären")),
    "sprache": ("Deutschkenntnisse im Alltag nicht ausreichend.", "Passender Sprachkurs, ggf. mit Kinderbetreuung.",
                ("Integrationskurs abschließen (B1)", "Berufssprachkurs beginnen", "Alphabetisierungskurs besuchen"),
                ("Berechtigungsschein beantragen", "Beim Kursträger anmelden", "Kurs regelmäßig besuchen")),
    "arbeit": ("Berufserfahrung im Herkunftsland, Abschluss nicht anerkannt.", "Anerkennung und Arbeitsmarktzugang.",
               ("Anerkennung des Berufsabschlusses", "Ausbildungsplatz finden", "Arbeitsstelle in Teilzeit finden"),
               ("Zeugnisse übersetzen lassen", "Termin bei der Anerkennungsberatung", "Lebenslauf erstellen",
                "Bewerbungen schreiben")),
    "wohnen": ("Beengte Wohnsituation in der Unterkunft.", "Eigene Wohnung im Kreisgebiet.",
               ("Eigene Wohnung finden", "Wohnsituation verbessern"),
               ("WBS beantragen", "Wohnungsanzeigen prüfen", "Mietübernahme beim Jobcenter klären")),
    "finanzen": ("Unklare Leistungsansprüche, offene Rechnungen.", "Überblick über Einnahmen und Ausgaben.",
                 ("Leistungsansprüche klären", "Schulden regulieren"),
                 ("Bescheide sortieren und prüfen", "Weiterbewilligungsantrag stellen", "Termin Schuldnerberatung")),
    "bildung_schule": ("Kinder ohne Schul- bzw. Kita-Platz.", "Schul- und Kita-Anmeldung.",
                       ("Schulplatz für die Kinder", "Kita-Platz finden"),
                       ("Anmeldung beim Schulamt", "Kita-Portal ausfüllen", "Impfnachweis besorgen")),
    "gesundheit": ("Keine hausärztliche Anbindung.", "Gesundheitliche Versorgung sichern.",
                   ("Hausärztliche Versorgung sichern", "Psychosoziale Unterstützung"),
                   ("Hausarztpraxis suchen", "Gesundheitskarte beantragen", "Erstgespräch vereinbaren")),
    "familie": ("Familienangehörige im Herkunftsland.", "Familiennachzug und Familienleistungen.",
                ("Familiennachzug vorbereiten", "Familienleistungen beantragen"),
                ("Unterlagen für die Botschaft zusammenstellen", "Kindergeld beantragen")),
    "teilhabe": ("Wenig Kontakte im Wohnort.", "Anschluss an Angebote vor Ort.",
                 ("Kontakte im Wohnort aufbauen", "Freizeitangebote für die Kinder"),
                 ("Sprachcafé besuchen", "Sportverein kontaktieren")),
}  # fmt: skip
_FOLLOW_UP_TITLES = ("Wiedervorlage: Stand besprechen", "Wiedervorlage: Unterlagen nachgereicht?",
                     "Frist Ausländerbehörde prüfen", "Rückruf vereinbart", "Hilfeplan überprüfen")  # fmt: skip

_INTAKE_TEXTS = (
    "Erstgespräch geführt. Anliegen aufgenommen, Einwilligungserklärung erläutert und unterschrieben.",
    "Erstgespräch in der Sprechstunde; Situation und Zuständigkeiten geklärt, Einwilligung liegt vor.",
    "Klärungsgespräch: Case Management passt, Datenschutzhinweise ausgehändigt.",
)
_PHASE_TEXTS = {
    "assessment": "Situationsanalyse: Bedarfe und Ressourcen in den Lebensbereichen besprochen.",
    "planning": "Hilfeplan besprochen und Ziele vereinbart.",
    "implementation": "Umsetzung der vereinbarten Schritte begonnen.",
    "monitoring": "Zwischenstand besprochen, Ziele überprüft.",
    "closed": "Abschlussgespräch geführt, Zielerreichung besprochen; Fall wird abgeschlossen.",
}
_FOLLOW_TEXTS = ("", "", "", " Wiedervorlage in zwei Wochen.", " Nächster Termin ist vereinbart.",
                 " Unterlagen werden nachgereicht.", " Dolmetschung war hilfreich.",
                 " Rückmeldung der Stelle steht noch aus.")  # fmt: skip
_NO_SHOW_TEXT = "Termin nicht wahrgenommen, neuer Termin per SMS angeboten."

# A Kreis has six to sixteen case managers; twelve keep a realistic caseload per person at 100,000 persons.
_USERS = (
    ("fm.beispiel", "Anna Beispiel"), ("fm.muster", "Jonas Muster"), ("fm.probe", "Mira Probe"),
    ("fm.testfeld", "Timo Testfeld"), ("fm.vorlage", "Sena Vorlage"), ("fm.platzhalter", "Lukas Platzhalter"),
    ("fm.exempel", "Eda Exempel"), ("fm.entwurf", "Paul Entwurf"), ("fm.skizze", "Nora Skizze"),
    ("fm.modell", "Deniz Modell"), ("fm.schablone", "Ivana Schablone"), ("fm.attrappe", "Karim Attrappe"),
)  # fmt: skip
_TEAM = "KIM-Team Beispielkreis (Demo)"
_LOCATIONS = (
    ("Kreishaus Coesfeld", "office", "Friedrich-Ebert-Straße 7", "48653", "Coesfeld", None),
    ("Kreishaus Coesfeld, Beratungsraum 1", "room", None, None, None, "Kreishaus Coesfeld"),
    ("Kreishaus Coesfeld, Beratungsraum 2", "room", None, None, None, "Kreishaus Coesfeld"),
    ("Rathaus Dülmen", "branch", "Markt 1–3", "48249", "Dülmen", None),
    ("Rathaus Lüdinghausen", "branch", None, "59348", "Lüdinghausen", None),
    ("Rathaus Senden", "branch", None, "48308", "Senden", None),
    ("Rathaus Nottuln", "branch", None, "48301", "Nottuln", None),
)
#: Weekly office hours (Sprechstunden): (location, weekday 0 = Monday, from, to, index into _USERS).
_OFFICE_HOURS = (
    ("Kreishaus Coesfeld, Beratungsraum 1", 0, "08:30", "12:00", 0), ("Kreishaus Coesfeld, Beratungsraum 1", 2, "13:00", "16:00", 2),
    ("Kreishaus Coesfeld, Beratungsraum 2", 1, "08:30", "12:00", 3), ("Kreishaus Coesfeld, Beratungsraum 2", 3, "13:00", "17:00", 4),
    ("Rathaus Dülmen", 3, "09:00", "12:00", 1), ("Rathaus Dülmen", 1, "14:00", "16:00", 5),
    ("Rathaus Lüdinghausen", 1, "09:00", "12:00", 6), ("Rathaus Senden", 2, "09:00", "12:00", 7),
    ("Rathaus Nottuln", 4, "09:00", "12:00", 8), ("Kreishaus Coesfeld, Beratungsraum 1", 4, "08:30", "11:30", 9),
)  # fmt: skip
_INTERPRETERS = (
    ("Haddad", "Samira", ["ar", "ku"]), ("Rahimi", "Farid", ["fa", "fa_AF", "ps"]), ("Koval", "Olena", ["uk", "ru"]),
    ("Tesfay", "Yonas", ["ti", "am"]), ("Yıldız", "Derya", ["tr", "ku"]), ("Popa", "Ioana", ["ro"]),
    ("Warsame", "Hodan", ["so", "ar"]), ("Diallo", "Aminata", ["fr", "ff"]), ("Nguyễn", "Thu Hà", ["vi"]),
    ("Krasniqi", "Arta", ["sq", "sr"]), ("Dimitrova", "Maria", ["bg", "tr"]), ("Kowalczyk", "Ewa", ["pl"]),
    ("Bakr", "Dilan", ["ku", "ar", "tr"]), ("Okafor", "Grace", ["en", "yo", "ig"]),
)  # fmt: skip
#: Fictitious providers: (name, unit, city, [(offer title, category, languages)]).
_PROVIDERS = (
    ("Bildungswerk Beispielstadt e. V.", "Sprachkurse", "Dülmen", [
        ("Integrationskurs mit Alphabetisierung (vormittags)", "integrationskurs", ["de"]),
        ("Allgemeiner Integrationskurs (abends)", "integrationskurs", ["de"]),
        ("Jugendintegrationskurs", "jugendintegrationskurs", ["de"]),
        ("Berufssprachkurs B2", "berufssprachkurs", ["de"])]),
    ("Sprachschule Musterfeld gGmbH", None, "Coesfeld", [
        ("Integrationskurs mit Kinderbetreuung", "integrationskurs", ["de"]),
        ("Berufssprachkurs Pflege (B1/B2)", "berufssprachkurs", ["de"])]),
    ("Wohlfahrtsverband Musterland e. V.", "Migrationsdienste", "Lüdinghausen", [
        ("Migrationsberatung für erwachsene Zugewanderte (MBE)", "mbe", ["de", "ar", "ru"]),
        ("Jugendmigrationsdienst: Beratung und Gruppen", "jmd", ["de", "en"])]),
    ("Anerkennungsberatung Musterregion", None, "Coesfeld", [
        ("Anerkennungsberatung für ausländische Abschlüsse", "anerkennungsberatung", ["de", "en"])]),
    ("Jobcenter Beispielkreis (fiktiv)", "Team Zuwanderung", "Coesfeld", [
        ("Arbeitsvermittlung für Geflüchtete", "jobcenter", ["de"])]),
    ("Agentur für Arbeit Musterstadt (fiktiv)", "Berufsberatung", "Coesfeld", [
        ("Berufsberatung im Erwerbsleben", "agentur_fuer_arbeit", ["de"])]),
    ("Asylverfahrensberatung Beispielland e. V.", None, "Dülmen", [
        ("Asylverfahrens- und Rechtsberatung", "rechtsberatung", ["de", "ar", "fa", "en", "fr"])]),
    ("Psychosoziales Zentrum Musterhausen", None, "Senden", [
        ("Psychosoziale Erstberatung", "psychosozial", ["de", "ar", "fa", "uk"]),
        ("Stabilisierungsgruppe für Frauen", "psychosozial", ["de", "ar"])]),
    ("Gesundheitslotsen Musterdorf e. V.", None, "Nottuln", [
        ("Begleitung zu Arztterminen", "gesundheit", ["de", "ar", "ti", "so"])]),
    ("Schuldnerberatung Beispielstadt", None, "Dülmen", [
        ("Schuldner- und Insolvenzberatung", "schuldnerberatung", ["de"])]),
    ("Familienzentrum Regenbogen Musterdorf", None, "Olfen", [
        ("Elterncafé und Kita-Lotsen", "schule_kita", ["de", "ar", "tr"]),
        ("Hausaufgabenhilfe", "schule_kita", ["de"])]),
    ("Wohnraumbörse Musterkreis e. V.", None, "Coesfeld", [
        ("Wohnungslotsen: Begleitung bei der Wohnungssuche", "wohnen", ["de", "en"])]),
    ("Ehrenamtsnetz Beispielhausen", None, "Havixbeck", [
        ("Patenschaftsprogramm", "ehrenamt", ["de", "en"]),
        ("Sprachcafé", "ehrenamt", ["de"])]),
)  # fmt: skip
_REJECTIONS = ("Kurs ausgebucht, Warteliste angeboten.", "Voraussetzungen derzeit nicht erfüllt.",
               "Keine Kinderbetreuung verfügbar.", "Angebot passt nicht zum Bedarf.")  # fmt: skip


# --- helpers ---------------------------------------------------------------------------------------------


def _weighted(items: tuple[tuple[Any, int], ...]) -> tuple[list[Any], list[int]]:
    values, weights, total = [], [], 0
    for value, weight in items:
        total += weight
        values.append(value)
        weights.append(total)
    return values, weights


class _Choice:
    """Fast weighted choice with cumulative weights."""

    __slots__ = ("values", "cum")

    def __init__(self, items):
        self.values, self.cum = _weighted(tuple(items))

    def __call__(self, rng: random.Random):
        return rng.choices(self.values, cum_weights=self.cum)[0]


_FEMALE_ENDINGS = (
    ("ський", "ська"), ("ский", "ская"), ("skyi", "ska"), ("skyj", "ska"), ("skii", "skaia"), ("ski", "ska"),
    ("cki", "cka"), ("zki", "zka"), ("ов", "ова"), ("ев", "ева"), ("ин", "ина"), ("ov", "ova"), ("ev", "eva"),
    ("in", "ina"), ("ow", "owa"), ("ew", "ewa"),
)  # fmt: skip


@cache
def female_form(name: str) -> str:
    """The female form of a Slavic/Polish family name (Ivanov → Ivanova, Kowalski → Kowalska)."""
    for male, female in _FEMALE_ENDINGS:
        if name.endswith(male):
            return name[: -len(male)] + female
    return name


@cache
def _name_part_keys(text: str, weight: int) -> tuple[tuple[str, int], ...]:
    """Index keys of one name field, through the public ``search.person_keys`` (cached per name)."""
    if weight == 0:
        return tuple(search.person_keys(text, None).items())
    return tuple(search.person_keys(None, None, text).items())


@lru_cache(maxsize=200_000)
def _sort_name(family: str, given: str) -> str:
    return search.sort_name(family, given)


def demo_person_keys(
    family: str,
    given: str,
    birth_name: str | None,
    variants: list[tuple[str, str]],
    birth: PartialDate | None,
    phone: str | None,
    file_numbers: list[str],
) -> dict[str, int]:
    """Exactly ``search.person_keys(...)``, with the name parts cached (names repeat a lot in demo data)."""
    keys: dict[str, int] = {}
    parts = [_name_part_keys(family, 0), _name_part_keys(given, 0)]
    if birth_name:
        parts.append(_name_part_keys(birth_name, 1))
    for v_family, v_given in variants:
        parts.append(_name_part_keys(v_family, 1))
        parts.append(_name_part_keys(v_given, 1))
    for part in parts:
        for key, weight in part:
            if key not in keys or weight < keys[key]:
                keys[key] = weight
    keys.update(search.person_keys(None, None, None, (), birth, phone, file_numbers))
    return keys


def _berlin_offset_hours(d: date) -> int:
    """UTC offset of Europe/Berlin on day ``d`` (EU rule; daytime only), without needing tz data."""
    y = d.year
    start = date(y, 3, 31 - (date(y, 3, 31).weekday() + 1) % 7)
    end = date(y, 10, 31 - (date(y, 10, 31).weekday() + 1) % 7)
    return 2 if start <= d < end else 1


BULK_CACHE_KIB = 256 * 1024
_FILE_NUMBER_RE = re.compile(r"^KIM-\d{4}-(\d+)$")

_TABLE_ORDER = (
    Household, Person, HouseholdMember, PersonRelation, PersonNameVariant, PersonNationality, PersonLanguage,
    ResidenceStatusChange, Case, CaseMember, CasePhaseChange, Assessment, Goal, Step, Consent, Referral,
    ReferralStatusChange, FollowUp, JournalEntry, Appointment, AppointmentParticipant, SearchKey,
)  # fmt: skip
_SUMMARY_KEYS = {
    Person: "persons", Household: "households", Case: "cases", JournalEntry: "journal_entries",
    Appointment: "appointments", Referral: "referrals", Consent: "consents", SearchKey: "search_keys",
    PersonNameVariant: "name_variants", PersonRelation: "relations", CasePhaseChange: "phase_changes",
    HouseholdMember: "household_members", ResidenceStatusChange: "residence_status_changes",
    AppointmentParticipant: "appointment_participants", PersonLanguage: "person_languages",
    PersonNationality: "person_nationalities", CaseMember: "case_members",
    ReferralStatusChange: "referral_status_changes", Assessment: "assessments", Goal: "goals", Step: "steps",
    FollowUp: "follow_ups",
}  # fmt: skip


@dataclass
class _Static:
    """Reference records the generated data points at (created once per database, then reused)."""

    user_ids: list[str]
    team_id: str | None
    location_ids: list[str]  # rooms and offices for appointments
    interpreters: dict[str, list[str]]  # language → interpreter ids
    offers: dict[str, list[tuple[str, str, str]]]  # category → [(offer id, provider id, provider name)]
    all_offers: list[tuple[str, str, str]]
    residence: dict[str, bool]  # code → time limited
    codes: dict[str, set[str]]
    created: dict[str, int]


@dataclass
class _Member:
    """A person while its household is being generated."""

    id: str
    sex: str
    age: int
    family: str
    given: str
    role: str
    family_ref: tuple  # (Name, spelling index) the family name was taken from
    given_ref: tuple  # (Name, spelling index) of the given name
    surname_source: tuple | None = None  # what children of an absent father inherit
    birth_name: str | None = None
    variants: list = field(default_factory=list)
    birth: PartialDate | None = None
    phone: str | None = None
    status: str | None = None
    lang: str | None = None
    interpreter: bool = False
    entry: date | None = None
    file_numbers: list = field(default_factory=list)


# --- the generator ---------------------------------------------------------------------------------------


class _Generator:
    def __init__(self, rng: random.Random, today: date, static: _Static, next_file_number: int):
        self.rng = rng
        self.today = today
        self.today_ord = today.toordinal()
        self.static = static
        self.next_file_number = next_file_number
        self.future_rate = 0.6  # share of open cases with an appointment in the next weeks
        self.now = datetime.now(UTC)
        self.origin = _Choice((o, o.weight) for o in ORIGINS)
        self.groups = {o.code: _Choice((g, g.weight) for g in o.groups) for o in ORIGINS}
        self.statuses = {}
        for o in ORIGINS:
            allowed = [(code, w) for code, w in o.statuses if code in static.residence]
            self.statuses[o.code] = _Choice(allowed) if allowed else None
        self.towns = _Choice((t, t[3]) for t in TOWNS)
        self.phase = _Choice(zip(PHASES, _PHASE_WEIGHTS, strict=True))
        self.access = self._code_choice("access_channel", _ACCESS)
        self.closure = self._code_choice("closure_reason", _CLOSURE)
        self.contact = self._code_choice("contact_type", _CONTACT)
        self.appointment_type = self._code_choice("appointment_type", _APPOINTMENT_TYPES)
        self.life_area = _Choice(_LIFE_AREAS)
        self.german_level = _Choice(_GERMAN_LEVELS)
        self.other_level = _Choice(_OTHER_LEVELS)
        self.uid_counter = 0

    def _code_choice(self, list_name: str, items):
        present = self.static.codes.get(list_name, set())
        allowed = [(c, w) for c, w in items if c in present]
        return _Choice(allowed) if allowed else (lambda _rng: None)

    def uid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def day(self, days_ago: int) -> date:
        return date.fromordinal(self.today_ord - days_ago)

    @staticmethod
    def stamp(d: date, hour: int = 9, minute: int = 0) -> datetime:
        return datetime(d.year, d.month, d.day, hour, minute, tzinfo=UTC)

    # names ------------------------------------------------------------------------------------------------

    def spelling(self, group: _Group, name: Name) -> int:
        spellings = name[0]
        if len(spellings) == 1 or self.rng.random() < group.primary_rate:
            return 0
        return self.rng.randrange(1, len(spellings))

    def pick_family(self, group: _Group) -> tuple[Name, int]:
        if group.family_tail and self.rng.random() < group.tail_rate:
            return self.pick(group, group.family_tail)
        return self.pick(group, group.family)

    def pick(self, group: _Group, pool: tuple[Name, ...]) -> tuple[Name, int]:
        name = self.rng.choice(pool)
        return name, self.spelling(group, name)

    @staticmethod
    def family_text(name: Name, idx: int, female: bool, group: _Group) -> str:
        text = name[0][idx]
        return female_form(text) if female and group.gendered else text

    def variants_for(self, group: _Group, family: tuple[Name, int], given: tuple[Name, int], female: bool):
        """Other spellings on record: (family, given, kind)."""
        rng = self.rng
        out = []
        (fam_name, fam_idx), (giv_name, giv_idx) = family, given
        if rng.random() < group.variant_rate:
            fam_alts = [i for i in range(len(fam_name[0])) if i != fam_idx]
            giv_alts = [i for i in range(len(giv_name[0])) if i != giv_idx]
            if fam_alts or giv_alts:
                f_idx = rng.choice(fam_alts) if fam_alts and (not giv_alts or rng.random() < 0.6) else fam_idx
                g_idx = (
                    rng.choice(giv_alts) if giv_alts and (f_idx == fam_idx or rng.random() < 0.4) else giv_idx
                )
                out.append(
                    (
                        self.family_text(fam_name, f_idx, female, group),
                        giv_name[0][g_idx],
                        "passport" if rng.random() < 0.3 else "spelling",
                    )
                )
        if group.native_rate and fam_name[1] and giv_name[1] and rng.random() < group.native_rate:
            native_family = female_form(fam_name[1]) if female and group.gendered else fam_name[1]
            out.append((native_family, giv_name[1], "native"))
        return out

    def birth(self, age: int, origin: _Origin, born_here: bool = False) -> PartialDate | None:
        """Mostly full dates; year only, month+year, 01.01. placeholders and unknown ones as documents have them
        (a German birth certificate always has the full date)."""
        rng = self.rng
        d = date.fromordinal(self.today_ord - age * 365 - age // 4 - rng.randrange(365))
        if born_here:
            return PartialDate(d.year, d.month, d.day)
        r = rng.random()
        if r < 0.015:
            return None
        r -= 0.015
        if r < origin.placeholder_rate * (0.6 if age < 10 else 1.0):
            return PartialDate(d.year, 1, 1)
        r -= origin.placeholder_rate
        if r < 0.04:
            return PartialDate(d.year)
        if r < 0.075:
            return PartialDate(d.year, d.month)
        return PartialDate(d.year, d.month, d.day)

    def sex(self, base: str) -> str:
        r = self.rng.random()
        # Every 250th adult is "u", "d" or "x" in turn, so even a small demo shows these entries.
        self._sex_calls = getattr(self, "_sex_calls", 0) + 1
        if self._sex_calls % 250 == 0:
            return ("u", "d", "x")[(self._sex_calls // 250) % 3]
        if r < 0.004:
            return "u"
        if r < 0.006:
            return "d"
        if r < 0.007:
            return "x"
        return base

    def phone(self, town) -> str:
        rng = self.rng
        if rng.random() < 0.82:
            prefix = rng.choice(_MOBILE_PREFIXES)
            return f"{prefix} {rng.randrange(10 ** (10 - len(prefix) + 1), 10 ** (11 - len(prefix) + 1))}"
        return f"{town[2]} {rng.randrange(10000, 999999)}"

    # households -------------------------------------------------------------------------------------------

    def household(self, rows: dict, max_persons: int) -> int:
        """Generate one household (or a single person) with everything around it; returns persons added."""
        rng = self.rng
        origin: _Origin = self.origin(rng)
        group: _Group = self.groups[origin.code](rng)
        r = rng.random()
        kind = "single" if r < 0.35 else "couple" if r < 0.45 else "single_parent" if r < 0.6 else "family"
        n_children = 0
        if kind in ("single_parent", "family"):
            n_children = min(origin.max_children, 1 + int(rng.expovariate(1 / 1.2)))
        adults = 2 if kind in ("couple", "family") else 1
        if adults + n_children > max_persons:
            n_children = max(0, max_persons - adults)
            if adults > max_persons:
                adults, kind = 1, "single"
        town = self.towns(rng)
        street = f"{rng.choice(_STREET_HEADS)}{rng.choice(_STREET_TAILS)} {rng.randint(1, 120)}"
        if rng.random() < 0.1:
            street += rng.choice("abc")
        extra = None
        head_status = self.statuses[origin.code](rng) if self.statuses[origin.code] else None
        if head_status in ("gestattung", "duldung", "duldung_60b") and rng.random() < 0.4:
            extra = rng.choice(_ADDRESS_EXTRAS).format(n=rng.randint(1, 60))
        entry_lo = max(origin.entry_from.toordinal(), self.today_ord - 12 * 365)
        entry = date.fromordinal(rng.randint(entry_lo, self.today_ord - 20))

        members: list[_Member] = []
        # adults
        if kind == "single":
            base = "m" if rng.random() < 0.62 else "f"
            age = 18 + int(rng.betavariate(2, 5) * 50)
            members.append(self._adult(group, origin, self.sex(base), age, None, "head"))
        else:
            head_sex = ("f" if rng.random() < 0.85 else "m") if kind == "single_parent" else "m"
            age = 22 + int(rng.betavariate(2.2, 4) * 40)
            head = self._adult(group, origin, head_sex, age, None, "head")
            members.append(head)
            if adults == 2:
                partner_age = max(18, age - rng.randint(-3, 9))
                members.append(self._adult(group, origin, "f", partner_age, head, "partner"))
        # children
        mother = next((m for m in members if m.sex == "f"), None)
        father = next((m for m in members if m.sex == "m" and m.role == "head"), None)
        parent_age = min(m.age for m in members)
        absent_father = None
        for _ in range(n_children):
            max_age = min(21, parent_age - 17)
            if max_age < 0:
                break
            child_age = rng.randint(0, max_age)
            child = self._child(group, child_age, father, mother, absent_father)
            members.append(child)
            if father is None and absent_father is None:
                absent_father = child.surname_source

        self._write_members(rows, origin, group, members, kind, town, street, extra, head_status, entry)
        return len(members)

    def _adult(self, group: _Group, origin: _Origin, sex: str, age: int, spouse: _Member | None, role: str):
        rng = self.rng
        female = sex == "f" if sex in ("m", "f") else rng.random() < 0.5
        given = self.pick(group, group.female if female else group.male)
        own_family = self.pick_family(group)
        birth_name = None
        if spouse is not None and group.naming == "take" and rng.random() < 0.85:
            family_ref = spouse.family_ref
            family_text = self.family_text(*family_ref, True, group)
            birth_name = self.family_text(*own_family, True, group)
            if birth_name == family_text:
                birth_name = None
        else:
            family_ref = own_family
            family_text = self.family_text(*own_family, female, group)
        member = _Member(
            id=self.uid(), sex=sex, age=age, family=family_text, given=given[0][0][given[1]], role=role,
            family_ref=family_ref, given_ref=given, birth_name=birth_name,
        )  # fmt: skip
        member.variants = self.variants_for(group, family_ref, given, female)
        return member

    def _child(self, group: _Group, age: int, father: _Member | None, mother: _Member | None, absent_father):
        rng = self.rng
        sex = "f" if rng.random() < 0.49 else "m"
        female = sex == "f"
        given = self.pick(group, group.female if female else group.male)
        if group.naming == "patronymic":
            # The father's (first) given name becomes the child's family name.
            source = father.given_ref if father is not None else absent_father or self.pick(group, group.male)
            name, idx = source
            family_ref = ((tuple(s.split()[0] for s in name[0]), None), idx)
            family_text = family_ref[0][0][idx]
        else:
            if father is not None:
                source = father.family_ref
            elif group.naming == "take" and mother is not None:
                source = mother.family_ref
            else:
                source = absent_father or self.pick_family(group)
            name, idx = source
            if len(name[0]) > 1 and rng.random() < 0.08:  # siblings spelled differently: it happens
                idx = rng.randrange(len(name[0]))
            family_ref = (name, idx)
            family_text = self.family_text(name, idx, female, group)
        member = _Member(
            id=self.uid(), sex=self.sex(sex) if age > 14 else sex, age=age, family=family_text,
            given=given[0][0][given[1]], role="child", family_ref=family_ref, given_ref=given, surname_source=source,
        )  # fmt: skip
        member.variants = self.variants_for(group, family_ref, given, female)
        return member

    def _languages(self, origin: _Origin, group: _Group, member: _Member, entry: date | None) -> list[tuple]:
        rng = self.rng
        langs: dict[str, str] = {group.languages[0]: "native"}
        if len(group.languages) > 1 and rng.random() < 0.45:
            second = group.languages[1]
            langs.setdefault(second, "native" if rng.random() < 0.5 else self.other_level(rng))
        if member.age >= 3:
            if member.age < 18:
                level = rng.choice(("A2", "B1", "B2", "C1", "native")) if member.age >= 6 else "A1"
            else:
                level = self.german_level(rng)
                if (
                    entry is not None
                    and (self.today_ord - entry.toordinal()) < 365
                    and level not in ("none", "A1")
                ):
                    level = "A1"
            langs.setdefault("de", level)
        if member.age >= 14:
            for code, probability in origin.extra_languages:
                if probability and rng.random() < probability:
                    langs.setdefault(code, self.other_level(rng))
        return list(langs.items())

    def _write_members(self, rows, origin, group, members, kind, town, street, extra, head_status, entry):
        rng = self.rng
        today_ord = self.today_ord
        static = self.static
        household_id = None
        if len(members) > 1:
            household_id = self.uid()
            rows[Household].append({
                "id": household_id, "label": f"Haushalt {members[0].family}", "created_at": self.now,
                "updated_at": self.now, "version": 1,
            })  # fmt: skip
        head = members[0]
        for m in members:
            born_here = m.role == "child" and m.age * 365 < (today_ord - entry.toordinal())
            m.birth = self.birth(m.age, origin, born_here)
            if m.age >= 18 or (m.age >= 14 and rng.random() < 0.3):
                m.phone = self.phone(town) if rng.random() < (0.78 if m.age >= 18 else 1.0) else None
            if m.role == "partner" and rng.random() < 0.25:
                m.entry = date.fromordinal(min(today_ord - 10, entry.toordinal() + rng.randint(60, 900)))
            else:
                m.entry = None if born_here else entry
            status = head_status
            if (
                m.role == "partner"
                and status in ("schutz_25_1_2", "niederlassung", "deutsch")
                and rng.random() < 0.4
            ):
                status = "familiennachzug" if "familiennachzug" in static.residence else status
            elif m.role != "head" and self.statuses[origin.code] and rng.random() < 0.12:
                status = self.statuses[origin.code](rng)
            m.status = status
            valid_until = None
            if status is not None and static.residence.get(status):
                if status == "schutz_24" and date(2027, 3, 4).toordinal() > today_ord and rng.random() < 0.75:
                    valid_until = date(2027, 3, 4)
                else:
                    valid_until = date.fromordinal(today_ord + rng.randint(-40, 3 * 365))
            languages = self._languages(origin, group, m, m.entry)
            german = dict(languages).get("de", "none")
            m.interpreter = m.age >= 16 and german in ("none", "A1") and rng.random() < 0.75
            m.lang = group.languages[0]
            if born_here:
                country, place = "DE", rng.choice(_BIRTH_TOWNS_DE)
            elif m.role == "child" and origin.transit and m.age < 8 and rng.random() < 0.3:
                country, place = origin.transit, None
            else:
                country, place = origin.code, rng.choice(origin.places) if rng.random() < 0.85 else None
            district_since = None
            if m.entry is not None:
                district_since = date.fromordinal(min(today_ord, m.entry.toordinal() + rng.randint(0, 500)))
            elif m.birth is not None:
                district_since = m.birth.earliest()
            nationality = origin.code
            if origin.code == "SY" and group.languages[0] == "ku" and rng.random() < 0.1:
                nationality = "XS"  # stateless Kurds from Syria
            elif origin.placeholder_rate >= 0.25 and rng.random() < 0.02:
                nationality = "XX"
            if status == "deutsch":
                nationality = "DE"
            created = self.stamp(district_since or self.today)
            email = None
            if m.age >= 18 and rng.random() < 0.25:
                local = _sort_name(m.given.split()[0], m.family).replace(" ", ".")
                email = f"{local}{rng.randint(1, 99)}@example.org"
            b = m.birth
            rows[Person].append({
                "id": m.id, "family_name": m.family, "given_names": m.given, "birth_name": m.birth_name,
                "sort_name": _sort_name(m.family, m.given),
                "birth_year": b.year if b else None, "birth_month": b.month if b else None,
                "birth_day": b.day if b else None, "sex": m.sex, "country_of_birth": country,
                "place_of_birth": place, "interpreter_needed": m.interpreter,
                "interpreter_language": m.lang if m.interpreter else None, "street": street,
                "postcode": town[1], "city": town[0], "address_extra": extra, "phone": m.phone, "email": email,
                "residence_status": status, "residence_valid_until": valid_until, "entry_date": m.entry,
                "district_since": district_since, "note": None, "created_at": created, "updated_at": created,
                "version": 1,
            })  # fmt: skip
            if household_id:
                rows[HouseholdMember].append(
                    {"household_id": household_id, "person_id": m.id, "role": m.role}
                )
            for order, (v_family, v_given, v_kind) in enumerate(m.variants or ()):
                rows[PersonNameVariant].append({
                    "id": self.uid(), "person_id": m.id, "family_name": v_family, "given_names": v_given,
                    "kind": v_kind, "sort_order": order,
                })  # fmt: skip
            rows[PersonNationality].append({"person_id": m.id, "country_code": nationality, "sort_order": 0})
            for order, (code, level) in enumerate(languages):
                rows[PersonLanguage].append(
                    {"person_id": m.id, "language_code": code, "level": level, "sort_order": order}
                )
            if status is not None:
                rows[ResidenceStatusChange].append({
                    "id": self.uid(), "person_id": m.id, "status": status, "valid_until": valid_until,
                    "recorded_at": created, "recorded_by": None,
                })  # fmt: skip
            m.file_numbers = []
        # relations
        adults = [m for m in members if m.role in ("head", "partner")]
        children = [m for m in members if m.role == "child"]
        relation_rows = rows[PersonRelation]
        if len(adults) == 2:
            a, b = adults
            relation_rows.append(
                {"id": self.uid(), "person_id": a.id, "related_person_id": b.id, "relation": "spouse"}
            )
            relation_rows.append(
                {"id": self.uid(), "person_id": b.id, "related_person_id": a.id, "relation": "spouse"}
            )
        for child in children:
            for parent in adults:
                relation_rows.append(
                    {
                        "id": self.uid(),
                        "person_id": child.id,
                        "related_person_id": parent.id,
                        "relation": "parent",
                    }
                )
                relation_rows.append(
                    {
                        "id": self.uid(),
                        "person_id": parent.id,
                        "related_person_id": child.id,
                        "relation": "child",
                    }
                )
        for i, child in enumerate(children):
            for sibling in children[i + 1 :]:
                relation_rows.append(
                    {
                        "id": self.uid(),
                        "person_id": child.id,
                        "related_person_id": sibling.id,
                        "relation": "sibling",
                    }
                )
                relation_rows.append(
                    {
                        "id": self.uid(),
                        "person_id": sibling.id,
                        "related_person_id": child.id,
                        "relation": "sibling",
                    }
                )
        # cases
        for m in members:
            if m.age >= 18 and rng.random() < 0.6:
                household_case = m is head and household_id is not None and rng.random() < 0.5
                if rng.random() < 0.06:
                    self._case(rows, m, members, None, older=True)
                self._case(rows, m, members, household_id if household_case else None, older=False)
        # search index
        key_rows = rows[SearchKey]
        for m in members:
            keys = demo_person_keys(
                m.family,
                m.given,
                m.birth_name,
                [(v[0], v[1]) for v in m.variants or ()],
                m.birth,
                m.phone,
                m.file_numbers or [],
            )
            key_rows.extend({"key": k, "person_id": m.id, "weight": w} for k, w in keys.items())

    # cases ------------------------------------------------------------------------------------------------

    def _case(self, rows, person: _Member, members: list[_Member], household_id, *, older: bool) -> None:
        rng = self.rng
        today_ord = self.today_ord
        static = self.static
        entry_ord = person.entry.toordinal() if person.entry else today_ord - 3000
        phase = "closed" if older else self.phase(rng)
        lo, hi = _PHASE_AGE[phase]
        opened_ord = today_ord - rng.randint(lo, hi)
        if opened_ord < entry_ord:  # not before the person came to Germany
            opened_ord = min(today_ord, entry_ord + rng.randint(7, 120))
        closed_ord = rng.randint(min(opened_ord + 30, today_ord), today_ord) if phase == "closed" else None
        opened = date.fromordinal(opened_ord)
        end_ord = closed_ord if closed_ord is not None else today_ord
        case_id = self.uid()
        number = self.next_file_number
        self.next_file_number += 1
        file_number = f"KIM-{opened.year}-{number:05d}"
        person.file_numbers.append(file_number)
        manager = rng.choice(static.user_ids) if static.user_ids else None
        closure = closed_on = achievement = retention = status_at_closure = None
        if phase == "closed":
            closed_on = date.fromordinal(closed_ord)
            closure = self.closure(rng)
            achievement = _ACHIEVEMENT.get(closure, "none" if rng.random() < 0.6 else "partial")
            retention = date(closed_on.year + 3, 12, 31)
            status_at_closure = person.status
        created = self.stamp(opened, 8 + rng.randrange(8), rng.choice((0, 15, 30, 45)))
        rows[Case].append({
            "id": case_id, "file_number": file_number, "person_id": person.id, "household_id": household_id,
            "phase": phase, "case_manager_id": manager, "team_id": static.team_id,
            "access_channel": self.access(rng), "opened_on": opened, "closed_on": closed_on,
            "closure_reason": closure, "goal_achievement": achievement,
            "eligibility": {"wohnsitz_im_kreis": True, "zugewandert": True, "mehrere_lebensbereiche": True},
            "retention_until": retention, "residence_status_at_intake": person.status,
            "residence_status_at_closure": status_at_closure, "created_at": created,
            "updated_at": self.stamp(date.fromordinal(end_ord)), "version": 1,
        })  # fmt: skip
        case_members = [person] if household_id is None else members
        for m in case_members:
            rows[CaseMember].append({"case_id": case_id, "person_id": m.id})
        # phase history
        target = PHASES.index(phase)
        span = max(0, end_ord - opened_ord)
        change_ords = sorted(opened_ord + rng.randint(min(1, span), span) for _ in range(target))
        if phase == "closed":
            change_ords[-1] = end_ord
        phase_dates = [opened_ord, *change_ords]
        previous = None
        for i in range(target + 1):
            changed = date.fromordinal(phase_dates[i])
            rows[CasePhaseChange].append({
                "id": self.uid(), "case_id": case_id, "from_phase": previous, "to_phase": PHASES[i],
                "changed_on": changed, "changed_at": self.stamp(changed, 10), "changed_by": manager, "note": None,
            })  # fmt: skip
            previous = PHASES[i]
        # consent to case management (a few cases in intake have not given it yet)
        if phase != "intake" or rng.random() < 0.75:
            revoked = closed_on if closure == "abbruch_klient" and rng.random() < 0.3 else None
            form = "written" if rng.random() < 0.85 else "oral" if rng.random() < 0.6 else "electronic"
            rows[Consent].append({
                "id": self.uid(), "person_id": person.id, "case_id": case_id, "kind": "case_management",
                "recipient_provider_id": None, "recipient_name": None,
                "scope": "Verarbeitung im Case Management (KIM) einschließlich Gesundheitsdaten",
                "includes_special_categories": rng.random() < 0.85, "form": form, "given_on": opened,
                "valid_until": None, "revoked_on": revoked, "document_id": None, "created_at": created,
                "updated_at": created, "version": 1,
            })  # fmt: skip
        areas = list(dict.fromkeys(self.life_area(rng) for _ in range(rng.randint(1, 4))))
        goals = self._plan(rows, case_id, manager, phase, target, phase_dates, end_ord, areas, achievement)
        # referrals
        if target >= 3 and static.all_offers and rng.random() < 0.55:
            for _ in range(1 if rng.random() < 0.7 else 2):
                self._referral(
                    rows, case_id, person, manager, phase, areas, phase_dates[min(3, target)], end_ord, goals
                )
        # Wiedervorlage for open cases (some overdue)
        if phase != "closed" and rng.random() < 0.7:
            stamp = self.stamp(date.fromordinal(end_ord))
            rows[FollowUp].append({
                "id": self.uid(), "case_id": case_id, "referral_id": None,
                "due_on": date.fromordinal(today_ord + rng.randint(-10, 45)), "title": rng.choice(_FOLLOW_UP_TITLES),
                "assigned_to": manager, "done_at": None, "created_at": stamp, "updated_at": stamp, "version": 1,
            })  # fmt: skip
        # journal
        self._journal(rows, case_id, person, manager, phase, phase_dates, opened_ord, end_ord, areas)
        # appointments
        self._appointments(rows, case_id, person, members if household_id else [person], manager, phase,
                           opened_ord, end_ord)  # fmt: skip

    def _plan(self, rows, case_id, manager, phase, target, phase_dates, end_ord, areas, achievement) -> list:
        """Assessment per life area (from the assessment phase on), goals with steps (from planning on)."""
        rng = self.rng
        today_ord = self.today_ord
        goals: list[tuple[str, str]] = []  # (goal id, life area)
        if target < 1:
            return goals
        assessed = date.fromordinal(phase_dates[1])
        stamp = self.stamp(assessed, 11)
        for area in areas:
            situation, needs, _titles, _steps = _CASE_PLAN[area]
            rows[Assessment].append({
                "id": self.uid(), "case_id": case_id, "life_area": area, "need_level": rng.randint(1, 3),
                "priority": rng.randint(1, 3), "situation": situation, "resources": None, "needs": needs,
                "assessed_on": assessed, "created_at": stamp, "updated_at": stamp, "version": 1,
            })  # fmt: skip
        if target < 2:
            return goals
        agreed_ord = phase_dates[2]
        agreed = date.fromordinal(agreed_ord)
        stamp = self.stamp(agreed, 11)
        for order, area in enumerate(areas[: rng.randint(1, 3)]):
            _situation, _needs, titles, steps = _CASE_PLAN[area]
            if phase == "closed":
                status = {"full": "achieved", "partial": "partly"}.get(achievement or "", "not_achieved")
                if status == "partly" and rng.random() < 0.5:
                    status = rng.choice(("achieved", "not_achieved"))
            else:
                status = "achieved" if target >= 4 and rng.random() < 0.3 else "open"
            goal_id = self.uid()
            goals.append((goal_id, area))
            rows[Goal].append({
                "id": goal_id, "case_id": case_id, "life_area": area, "title": rng.choice(titles),
                "description": None, "agreed_on": agreed, "review_on": date.fromordinal(agreed_ord + 90),
                "status": status, "sort_order": order, "created_at": stamp, "updated_at": stamp, "version": 1,
            })  # fmt: skip
            for step_order, step_text in enumerate(rng.sample(steps, rng.randint(1, min(3, len(steps))))):
                due_ord = agreed_ord + rng.randint(7, 90)
                done = None
                if (phase == "closed" or due_ord < today_ord) and rng.random() < 0.75:
                    done = date.fromordinal(max(agreed_ord, min(end_ord, due_ord + rng.randint(-5, 10))))
                responsible = rng.choices(("client", "case_manager", "other"), (55, 35, 10))[0]
                rows[Step].append({
                    "id": self.uid(), "goal_id": goal_id, "description": step_text, "responsible": responsible,
                    "responsible_note": None, "due_on": date.fromordinal(due_ord), "done_on": done,
                    "sort_order": step_order, "created_at": stamp, "updated_at": stamp, "version": 1,
                })  # fmt: skip
        return goals

    def _referral(self, rows, case_id, person, manager, phase, areas, start_ord, end_ord, goals) -> None:
        rng = self.rng
        static = self.static
        candidates = [o for area in areas for o in self._offers_for(area)]
        offer_id, provider_id, provider_name = rng.choice(candidates or static.all_offers)
        if phase == "implementation":
            status = rng.choices(
                ("draft", "sent", "accepted", "rejected", "completed"), (15, 35, 30, 10, 10)
            )[0]
        elif phase == "monitoring":
            status = rng.choices(
                ("sent", "accepted", "completed", "rejected", "revoked"), (10, 35, 40, 10, 5)
            )[0]
        else:
            status = rng.choices(
                ("completed", "rejected", "accepted", "revoked", "sent"), (55, 15, 15, 5, 10)
            )[0]
        created_ord = rng.randint(start_ord, max(start_ord, end_ord))
        chain = {"draft": ["draft"], "sent": ["draft", "sent"], "accepted": ["draft", "sent", "accepted"],
                 "rejected": ["draft", "sent", "rejected"], "completed": ["draft", "sent", "accepted", "completed"],
                 "revoked": ["draft", "sent", "revoked"]}[status]  # fmt: skip
        ords = [created_ord]
        for _ in chain[1:]:
            ords.append(min(end_ord, ords[-1] + rng.randint(1, 40)))
        referral_id = self.uid()
        sent_on = date.fromordinal(ords[1]) if len(ords) > 1 else None
        answered_on = date.fromordinal(ords[2]) if len(ords) > 2 else None
        consent_id = None
        if sent_on is not None:
            consent_id = self.uid()
            rows[Consent].append({
                "id": consent_id, "person_id": person.id, "case_id": case_id, "kind": "release",
                "recipient_provider_id": provider_id, "recipient_name": provider_name,
                "scope": "Name, Kontaktdaten und Anliegen zur Vermittlung", "includes_special_categories": False,
                "form": "written", "given_on": date.fromordinal(created_ord), "valid_until": None,
                "revoked_on": answered_on if status == "revoked" else None, "document_id": None,
                "created_at": self.stamp(date.fromordinal(created_ord)),
                "updated_at": self.stamp(date.fromordinal(created_ord)), "version": 1,
            })  # fmt: skip
        outcome = None
        if status == "completed":
            outcome = rng.choices(("abgeschlossen", "abgebrochen", "teilnahme"), (60, 20, 20))[0]
        elif status == "accepted":
            outcome = rng.choices(("teilnahme", "warteliste"), (60, 40))[0]
        elif status == "rejected":
            outcome = rng.choices(("nicht_geeignet", "warteliste", None), (50, 30, 20))[0]
        if outcome is not None and outcome not in self.static.codes.get("referral_outcome", ()):
            outcome = None
        stamp = self.stamp(date.fromordinal(ords[-1]))
        goal_id = next((g for g, area in goals if offer_id in {o[0] for o in self._offers_for(area)}), None)
        if goal_id is None and goals and rng.random() < 0.5:
            goal_id = goals[0][0]
        follow_up_days = 14 if rng.random() < 0.5 else None
        rows[Referral].append({
            "id": referral_id, "case_id": case_id, "person_id": person.id, "offer_id": offer_id,
            "provider_id": provider_id, "goal_id": goal_id, "step_id": None, "status": status,
            "reason": "Vermittlung zur Unterstützung im vereinbarten Ziel.", "sent_on": sent_on,
            "answered_on": answered_on, "rejection_reason": rng.choice(_REJECTIONS) if status == "rejected" else None,
            "outcome": outcome, "feedback": None, "follow_up_days": follow_up_days,
            "release_consent_id": consent_id, "created_by": manager,
            "sent_via": ("post", "email", "personal")[created_ord % 3] if sent_on else None,  # no draw: same data
            "created_at": self.stamp(date.fromordinal(created_ord)), "updated_at": stamp, "version": 1,
        })  # fmt: skip
        previous = None
        for to_status, o in zip(chain, ords, strict=True):
            d = date.fromordinal(o)
            rows[ReferralStatusChange].append({
                "id": self.uid(), "referral_id": referral_id, "from_status": previous, "to_status": to_status,
                "changed_on": d, "changed_at": self.stamp(d, 11), "changed_by": manager, "note": None,
            })  # fmt: skip
            previous = to_status
        if status == "sent" and follow_up_days and phase != "closed":
            rows[FollowUp].append({
                "id": self.uid(), "case_id": case_id, "referral_id": referral_id,
                "due_on": sent_on + timedelta(days=follow_up_days), "title": f"Rückmeldung {provider_name}",
                "assigned_to": manager, "done_at": None, "created_at": stamp, "updated_at": stamp, "version": 1,
            })  # fmt: skip

    def _offers_for(self, area: str) -> list[tuple[str, str, str]]:
        return [o for cat in _AREA_OFFERS.get(area, ()) for o in self.static.offers.get(cat, ())]

    def _journal(
        self, rows, case_id, person, manager, phase, phase_dates, opened_ord, end_ord, areas
    ) -> None:
        rng = self.rng
        count = rng.randint(2, 6)
        entries = [(opened_ord, rng.choice(_INTAKE_TEXTS), "persoenlich", areas[:1] or ["aufenthalt"])]
        for changed_ord, new_phase in zip(phase_dates[1:], PHASES[1:], strict=False):
            if new_phase == "closed" or rng.random() < 0.5:
                entries.append((changed_ord, _PHASE_TEXTS[new_phase], "persoenlich", areas))
        for _ in range(count - len(entries)):
            contact = self.contact(rng) or "persoenlich"
            area = rng.choice(areas) if areas else "aufenthalt"
            text = rng.choice(_AREA_SENTENCES[area]) + rng.choice(_FOLLOW_TEXTS)
            if contact == "telefon":
                text = "Telefonat: " + text
            elif contact == "notiz" and rng.random() < 0.3:
                text = _NO_SHOW_TEXT
            entries.append((rng.randint(opened_ord, end_ord), text, contact, [area]))
        interpreter_ids = self.static.interpreters.get(person.lang or "", [])
        locations = self.static.location_ids
        for o, text, contact, entry_areas in entries:
            d = date.fromordinal(o)
            interpreter_id = language = None
            if person.interpreter and contact in ("persoenlich", "hausbesuch", "begleitung"):
                language = person.lang
                if interpreter_ids and rng.random() < 0.6:
                    interpreter_id = rng.choice(interpreter_ids)
            stamp = self.stamp(d, 8 + rng.randrange(9), rng.choice((0, 10, 20, 30, 40, 50)))
            rows[JournalEntry].append({
                "id": self.uid(), "case_id": case_id, "person_id": person.id, "entry_date": d,
                "contact_type": contact, "duration_min": rng.choice((10, 15, 20, 30, 30, 45, 45, 60, 60, 90)),
                "interpreter_id": interpreter_id, "interpreter_language": language,
                "location_id": rng.choice(locations) if contact == "persoenlich" and locations else None,
                "life_areas": entry_areas,
                "text": text, "confidential": rng.random() < 0.03, "system_generated": False,
                "author_id": manager, "created_at": stamp, "updated_at": stamp, "version": 1,
            })  # fmt: skip

    def _appointments(self, rows, case_id, person, participants, manager, phase, opened_ord, end_ord) -> None:
        rng = self.rng
        today_ord = self.today_ord
        slots = []
        for _ in range(rng.choice((0, 1, 1, 2, 2, 3))):
            slots.append(rng.randint(opened_ord, max(opened_ord, min(end_ord, today_ord - 1))))
        if phase != "closed" and rng.random() < self.future_rate:
            slots.append(today_ord + rng.randint(0, 35))
        locations = self.static.location_ids
        interpreter_ids = self.static.interpreters.get(person.lang or "", [])
        for o in slots:
            d = date.fromordinal(o)
            if d.weekday() >= 5:  # weekends: past appointments move to Friday, future ones to Monday
                d = date.fromordinal(o + 7 - d.weekday() if o >= today_ord else o + 4 - d.weekday())
            future = d.toordinal() >= today_ord
            kind = self.appointment_type(rng) or "beratung"
            hour, minute = 8 + rng.randrange(8), rng.choice((0, 30))
            offset = _berlin_offset_hours(d)
            starts = datetime(d.year, d.month, d.day, hour, minute, tzinfo=UTC) - timedelta(hours=offset)
            ends = starts + timedelta(minutes=rng.choice((30, 45, 60, 60, 90)))
            if future:
                status = "planned" if rng.random() < 0.6 else "confirmed"
            else:
                status = rng.choices(("held", "cancelled", "no_show"), (76, 12, 12))[0]
            interpreter_id = language = None
            if person.interpreter:
                language = person.lang
                if interpreter_ids and rng.random() < 0.7:
                    interpreter_id = rng.choice(interpreter_ids)
            appointment_id = self.uid()
            stamp = self.stamp(date.fromordinal(min(o, today_ord) - rng.randint(1, 14)))
            rows[Appointment].append({
                "id": appointment_id, "case_id": case_id, "type": kind,
                "title": rng.choice(_APPOINTMENT_TITLES.get(kind, ("Termin",))),
                "location_id": None if kind in ("hausbesuch", "begleitung") or not locations else rng.choice(locations),
                "starts_at": starts, "ends_at": ends, "case_manager_id": manager, "interpreter_id": interpreter_id,
                "interpreter_language": language, "status": status, "note": None, "conflict_accepted": False,
                "ical_uid": f"{appointment_id}@kim-desktop", "busy_only": False, "created_at": stamp,
                "updated_at": stamp, "version": 1,
            })  # fmt: skip
            for p in participants[:3]:
                rows[AppointmentParticipant].append({"appointment_id": appointment_id, "person_id": p.id})


# --- reference records -----------------------------------------------------------------------------------


def _ensure_static(session, rng: random.Random, now: datetime) -> _Static:
    """Find or create case managers, team, locations, interpreters, providers and offers (by name)."""

    def uid() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    created = {"users": 0, "locations": 0, "interpreters": 0, "providers": 0, "offers": 0}
    common = {"created_at": now, "updated_at": now, "version": 1}

    team_id = session.scalar(select(Team.id).where(Team.name == _TEAM, Team.deleted_at.is_(None)))
    if team_id is None:
        team_id = uid()
        session.execute(insert(Team), [{"id": team_id, "name": _TEAM, **common}])

    users = dict(session.execute(select(UserAccount.username, UserAccount.id)).all())
    new_users = []
    for username, display in _USERS:
        if username not in users:
            users[username] = uid()
            new_users.append({
                "id": users[username], "username": username, "display_name": display,
                "email": f"{username}@beispielkreis.example", "phone": None, "password_hash": None,
                "team_id": team_id, "active": True, "failed_logins": 0, **common,
            })  # fmt: skip
    if new_users:
        session.execute(insert(UserAccount), new_users)
        session.execute(
            insert(UserRole), [{"user_id": u["id"], "role": "case_management"} for u in new_users]
        )
        created["users"] = len(new_users)

    locations = dict(session.execute(select(Location.name, Location.id)).all())
    for name, kind, street, postcode, city, parent in _LOCATIONS:
        if name not in locations:
            locations[name] = uid()
            session.execute(insert(Location), [{
                "id": locations[name], "name": name, "kind": kind, "parent_id": locations.get(parent) if parent else None,
                "street": street, "postcode": postcode, "city": city, "active": True, **common,
            }])  # fmt: skip
            created["locations"] += 1
    location_ids = [locations[name] for name, kind, *_ in _LOCATIONS if kind in ("room", "branch")]
    if session.scalar(select(func.count()).select_from(OfficeHours)) == 0:
        session.execute(insert(OfficeHours), [{
            "id": uid(), "location_id": locations[place], "case_manager_id": users[_USERS[who][0]],
            "weekday": weekday, "start_time": time.fromisoformat(start), "end_time": time.fromisoformat(end),
            "valid_from": None, "valid_until": None, **common,
        } for place, weekday, start, end, who in _OFFICE_HOURS])  # fmt: skip

    interpreters: dict[str, list[str]] = {}
    existing = {(f, g): (i, langs) for i, f, g, langs in session.execute(
        select(Interpreter.id, Interpreter.family_name, Interpreter.given_names, Interpreter.languages))}  # fmt: skip
    for family, given, langs in _INTERPRETERS:
        if (family, given) not in existing:
            existing[(family, given)] = (uid(), langs)
            session.execute(insert(Interpreter), [{
                "id": existing[(family, given)][0], "family_name": family, "given_names": given, "languages": langs,
                "phone": f"0151 {rng.randrange(1000000, 9999999)}", "email": None,
                "availability": "nach Absprache", "active": True, **common,
            }])  # fmt: skip
            created["interpreters"] += 1
    for interpreter_id, langs in existing.values():
        for code in langs or ():
            interpreters.setdefault(code, []).append(interpreter_id)

    providers = dict(session.execute(select(Provider.name, Provider.id)).all())
    offers_by_key = {
        (p, t): i for i, p, t in session.execute(select(Offer.id, Offer.provider_id, Offer.title))
    }
    offers: dict[str, list[tuple[str, str, str]]] = {}
    town_codes = {t[0]: t for t in TOWNS}
    for name, unit, city, offer_specs in _PROVIDERS:
        if name not in providers:
            providers[name] = uid()
            town = town_codes[city]
            slug = re.sub(r"[^a-z]+", "-", search.sort_name(name, "")).strip("-")[:40]
            session.execute(insert(Provider), [{
                "id": providers[name], "name": name, "unit": unit, "street": f"Musterstraße {rng.randint(1, 60)}",
                "postcode": town[1], "city": city, "municipality": city,
                "phone": f"{town[2]} {rng.randrange(10000, 99999)}", "email": f"info@{slug}.example",
                "website": f"https://{slug}.example", "opening_hours": "Mo–Do 9–16 Uhr, Fr 9–12 Uhr", **common,
            }])  # fmt: skip
            created["providers"] += 1
        provider_id = providers[name]
        for title, category, langs in offer_specs:
            key = (provider_id, title)
            if key not in offers_by_key:
                offers_by_key[key] = uid()
                session.execute(insert(Offer), [{
                    "id": offers_by_key[key], "provider_id": provider_id, "title": title, "category": category,
                    "description": None, "languages": langs, "target_group": None, "access_conditions": None,
                    "residence_statuses": None, "cost": "kostenfrei" if category != "integrationskurs" else
                    "Kostenbeitrag 2,29 € je Unterrichtsstunde, Befreiung möglich", "municipality": city,
                    "valid_from": None, "valid_until": None, "last_checked_on": now.date(), **common,
                }])  # fmt: skip
                created["offers"] += 1
            offers.setdefault(category, []).append((offers_by_key[key], provider_id, name))

    codes: dict[str, set[str]] = {}
    residence: dict[str, bool] = {}
    for list_name, code, time_limited, active in session.execute(
        select(CodeEntry.list_name, CodeEntry.code, CodeEntry.time_limited, CodeEntry.active)
    ):
        if not active:
            continue
        codes.setdefault(list_name, set()).add(code)
        if list_name == "residence_status":
            residence[code] = bool(time_limited)
    return _Static(
        user_ids=[users[u] for u, _d in _USERS],
        team_id=team_id,
        location_ids=location_ids,
        interpreters=interpreters,
        offers=offers,
        all_offers=[o for group in offers.values() for o in group],
        residence=residence,
        codes=codes,
        created=created,
    )


def _next_file_number(session) -> int:
    highest = 0
    for (number,) in session.execute(select(Case.file_number).where(Case.file_number.like("KIM-%"))):
        match = _FILE_NUMBER_RE.match(number or "")
        if match:
            highest = max(highest, int(match.group(1)))
    return highest + 1


# --- entry point -----------------------------------------------------------------------------------------


def generate_demo_data(
    ctx: ServiceContext,
    *,
    persons: int,
    seed: int = 1,
    progress: ProgressCallback | None = None,
    batch_size: int = 2000,
    today: date | None = None,
) -> dict[str, Any]:
    """Add ``persons`` synthetic persons with households, cases and everything around them.

    Returns counts of the rows added per table (``persons``, ``households``, ``cases``, ``journal_entries``,
    ``appointments``, ``referrals``, ``providers``, ``offers``, …) and ``cancelled``.
    """
    require(ctx.actor, "person.write")
    if persons < 0:
        raise ValueError("persons must not be negative")
    batch_size = max(1, batch_size)
    today = today or date.today()
    with ctx.write() as session:
        existing = session.scalar(select(func.count()).select_from(Person)) or 0
        # Same seed on an empty database → same data; on a filled one, the count keeps IDs and names fresh.
        rng = random.Random(seed if existing == 0 else f"{seed}:{existing}")
        static = _ensure_static(session, random.Random(f"static:{seed}:{existing}"), datetime.now(UTC))
        first_number = _next_file_number(session)
        cache_size = session.execute(sql("PRAGMA cache_size")).scalar() if ctx.database.is_sqlite else None
    generator = _Generator(rng, today, static, first_number)
    # Next weeks' appointments: at most what the team can hold (about 25 a week per case manager over the five
    # weeks the demo plans ahead); a large demo has far more open cases than appointments.
    open_cases = 0.26 * (existing + persons)
    capacity = 25 * 5 * max(1, len(static.user_ids))
    generator.future_rate = min(0.6, capacity / open_cases) if open_cases else 0.6
    sqlite = ctx.database.is_sqlite
    summary: dict[str, Any] = {key: 0 for key in _SUMMARY_KEYS.values()}
    summary["providers"] = static.created["providers"]
    summary["offers"] = static.created["offers"]
    summary["cancelled"] = False
    done = 0
    while done < persons:
        rows: dict = {model: [] for model in _TABLE_ORDER}
        in_batch = 0
        target = min(batch_size, persons - done)
        while in_batch < target:
            in_batch += generator.household(rows, target - in_batch)
        rows[SearchKey].sort(key=lambda r: r["key"])  # B-tree friendly insert order
        with ctx.write() as session:
            if sqlite:
                # A bigger page cache for this bulk load: the search index is a large B-tree.
                session.execute(sql(f"PRAGMA cache_size = -{BULK_CACHE_KIB}"))
            for model in _TABLE_ORDER:
                if rows[model]:
                    # Core insert (one executemany per table): the ORM bulk path would split the rows into
                    # groups by which values are None.
                    session.execute(insert(model.__table__), rows[model])
        for model, key in _SUMMARY_KEYS.items():
            summary[key] += len(rows[model])
        done += in_batch
        if progress is not None and progress(done, persons) is False:
            summary["cancelled"] = done < persons
            break
    with ctx.write() as session:
        audit.record(session, "demo_import", entity_type="person", detail={"persons": done, "seed": seed})
        if sqlite and cache_size is not None:
            session.execute(sql(f"PRAGMA cache_size = {int(cache_size)}"))
            session.execute(sql("PRAGMA shrink_memory"))
    return summary
