"""Partner data: column mapping, the four partner readers and their cleaning (sna.io.partner,
sna.io.police_extract, sna.io.health, sna.io.interventions, HO codes in sna.definitions)."""

from __future__ import annotations

import gzip
import json
import shutil

import pandas as pd
import pytest
import yaml

from sna.config import DefinitionConfig
from sna.datasets import nottingham_sample_config
from sna.errors import ConfigError, InputFormatError, PrivacyError
from sna.io._files import InputFile
from sna.io.partner import (
    detect_format,
    parse_dates,
    parse_ethnicity,
    parse_flag,
    propose_mapping,
    read_table,
    resolve_mapping,
)

KEY = "partner data test key, long enough"
SAMPLE = nottingham_sample_config().parent


# --------------------------------------------------------------------------------------------
# fixtures: a small area (Nottingham city, real boundaries) and one file per partner format
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def city_points():
    """Two real LSOAs of Nottingham city and a point inside each (EPSG:27700)."""
    import geopandas as gpd

    g = gpd.read_file(SAMPLE / "boundaries" / "E06000018.json").to_crs(27700)
    g = g.sort_values("LSOA11CD").reset_index(drop=True)
    pts = g.geometry.representative_point()
    return [(g.loc[i, "LSOA11CD"], round(pts[i].x), round(pts[i].y)) for i in (0, 1)]


POLICE_HEADER = ("Crime Ref,HO Code,Offence Description,Committed From Date,Committed From Time,"
                 "Committed To Date,Committed To Time,Easting,Northing,LSOA Code,Victim ID,Victim Age,"
                 "Victim Gender,Victim Ethnicity,Suspect Age,Suspect Gender,Knife Flag,Firearm Flag,DA Flag")


def police_rows(pts):
    (l1, x1, y1), (l2, x2, y2) = pts
    return [
        # kept: minute precision, LSOA and point
        f"NT/20/000001,8N,Assault with injury,13/06/2020,23:15,13/06/2020,23:40,{x1},{y1},{l1},V-0001,19,M,W1,22,M,Y,N,N",
        # kept: placed by point-in-polygon, no time (day), domestic
        f"NT/20/000002,105A,Common assault,14/06/2020,,,,{x2},{y2},,V-0002,31,F,B2,33,M,N,N,Y",
        # kept: LSOA only, window over several days (month precision), robbery, knife
        f"NT/20/000003,34/B,,01/07/2020,22:00,04/07/2020,08:00,,,{l2},,,,,,,Y,N,N",
        # set aside: impossible age
        f"NT/20/000004,8N,Assault with injury,15/06/2020,01:00,,,{x1},{y1},{l1},V-0003,250,M,,,,N,N,N",
        # set aside: offence code not in the table
        f"NT/20/000005,ZZ9,Unknown offence,15/06/2020,01:00,,,{x1},{y1},{l1},,,,,,,N,N,N",
        # set aside: no location
        "NT/20/000006,9A,Public fear,15/06/2020,01:00,,,,,,,,,,,,,N,N",
        # set aside: out of area (an Amber Valley LSOA)
        "NT/20/000007,8N,Assault with injury,15/06/2020,01:00,,,,,E01019442,,,,,,,N,N,N",
        # set aside: no date
        f"NT/20/000008,8N,Assault with injury,,,,,{x1},{y1},{l1},,,,,,,N,N,N",
    ]


@pytest.fixture()
def area(tmp_path, city_points):
    """A config folder with all four partner formats for Nottingham city."""
    shutil.copytree(SAMPLE / "boundaries", tmp_path / "boundaries")
    (tmp_path / "police").mkdir()
    (tmp_path / "police" / "extract.csv").write_text(
        POLICE_HEADER + "\n" + "\n".join(police_rows(city_points)) + "\n", encoding="utf-8")
    (l1, x1, y1), (l2, x2, y2) = city_points
    import pyproj

    lon, lat = pyproj.Transformer.from_crs(27700, 4326, always_xy=True).transform(x2, y2)
    amb = ("Incident No,Call Date,Call Time,Chief Complaint,LSOA,Long,Lat,Patient Age,Age Band,Sex\n"
           f"A-1,2020-06-13,23:20:00,Stab/Gunshot/Penetrating Trauma,{l1},,,19,,Male\n"
           f"A-2,2020-06-14,02:10:00,Assault,,{lon:.6f},{lat:.6f},,18-24,Female\n"
           f"A-3,2020-06-14,03:00:00,Falls,{l1},,,70,,Female\n")
    with gzip.open(tmp_path / "ambulance.csv.gz", "wt", encoding="utf-8") as fh:
        fh.write(amb)
    (tmp_path / "ecds.csv").write_text(
        "Attendance ID,NHS Number,Arrival Date,Arrival Time,Assault Date,Assault Time,Assault Method,"
        "Incident LSOA,Home LSOA,Patient Age,Patient Gender,Ethnic Category,Site Code,Location Description\n"
        f"ED-1,999 000 0001,14/06/2020,00:30,13/06/2020,23:15,Knife or sharp object,{l1},{l2},19,1,A,RX1RA,Bar\n"
        f"ED-2,999 000 0002,14/06/2020,04:30,,,Body part (fist),,{l2},31,2,N,RX1RA,\n"
        f"ED-3,999 000 0003,15/06/2020,04:30,14/06/2020,,Unknown,E01019442,{l2},40,1,Z,RX1RA,At Jo Bloggs' house\n",
        encoding="utf-8")
    _participants_xlsx(tmp_path / "participants.xlsx", l1)
    (tmp_path / "interventions.csv").write_text(
        "Programme,Provider,Tier,Funding Stream,Budget,Financial Year\n"
        'Mentoring,Provider A,Targeted,VRU core grant,"£25,000",2020/21\n'
        "Custody navigators,Provider B,Tertiary,SYVIP,12000,2020-21\n", encoding="utf-8")
    cfg = {
        "area": "Test city", "partnerships": {"Nottingham City": ["E06000018"]},
        "geography": {"boundaries": "boundaries/"},
        "sources": {
            "police": {"format": "police_extract", "path": "police/",
                       "columns": {"crime_type": "Offence Description", "domestic": "DA Flag"}},
            "ambulance": {"format": "ambulance", "path": "ambulance.csv.gz"},
            "ecds": {"format": "ecds", "path": "ecds.csv",
                     "columns": {"lsoa": "Incident LSOA", "home_lsoa": "Home LSOA"}},
            "interventions": {"format": "interventions", "path": "participants.xlsx",
                              "interventions_table": "interventions.csv",
                              "columns": {"participants.intervention": "Project",
                                          "interventions.intervention": "Programme"}},
        },
        "privacy": {"key_file": "key.txt"},
        "cache": "cache",
    }
    (tmp_path / "key.txt").write_text(KEY + "\n")
    (tmp_path / "sna.yml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    return tmp_path


def _participants_xlsx(path, lsoa):
    from openpyxl import Workbook

    import datetime as dt

    wb = Workbook()
    ws = wb.active
    ws.append(["Client ID", "Project", "Start Date", "End Date", "Age", "Gender", "Ethnicity",
               "Home LSOA", "Baseline Score", "Exit Score", "Offended Before", "Reoffended"])
    ws.append(["C-001", "Mentoring", dt.datetime(2020, 5, 4), dt.datetime(2020, 9, 1), 15, "F",
               "Black or Black British", lsoa, 18, 22, "No", "No"])
    ws.append(["C-002", "Custody navigators", dt.datetime(2020, 6, 1), None, 19, "M", None, "E01019442",
               20, None, "Yes", None])
    ws.append(["C-003", "Mentoring", dt.datetime(2020, 7, 1), None, 250, "M", "White British", lsoa,
               None, None, None, None])
    ws.append(["C-004", "Mentoring", None, None, 12, "M", "Mixed", lsoa, None, None, None, None])
    wb.save(path)


def _load(area, monkeypatch):
    import sna

    monkeypatch.delenv("SNA_PSEUDONYMISATION_KEY", raising=False)
    return sna.load_assessment(area / "sna.yml", "2020/21")


# --------------------------------------------------------------------------------------------
# column mapping
# --------------------------------------------------------------------------------------------
def test_propose_mapping_from_common_spellings():
    m = propose_mapping(POLICE_HEADER.split(","), "police_extract")
    assert m["record_id"] == "Crime Ref"
    assert m["offence_code"] == "HO Code"
    assert m["date"] == "Committed From Date" and m["time_to"] == "Committed To Time"
    assert m["x"] == "Easting" and m["lsoa"] == "LSOA Code"
    # the victim's columns win over the suspect's; the suspect's are mapped to offender_*
    assert m["age"] == "Victim Age" and m["offender_age"] == "Suspect Age"
    assert m["knife"] == "Knife Flag" and m["domestic"] == "DA Flag"
    # case, spaces and punctuation do not matter
    assert propose_mapping(["VICTIM_AGE", "crime-ref"], "police_extract") == {
        "record_id": "crime-ref", "age": "VICTIM_AGE"}


def test_detect_format_of_each_partner_header():
    assert detect_format(POLICE_HEADER.split(",")) == "police_extract"
    assert detect_format(["Incident Number", "Incident Date", "Call Category", "LSOA"]) == "ambulance"
    assert detect_format(["Attendance ID", "Arrival Date", "Assault Method", "Site Code"]) == "ecds"
    assert detect_format(["Participant ID", "Programme", "Start Date"]) == "interventions"
    # a data.police.uk street file is none of them
    from sna.io.police_uk import STREET_COLUMNS

    assert detect_format(list(STREET_COLUMNS)) is None


def test_mapped_column_missing_from_header_lists_the_header(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("Ref,When,HO Code\nA,01/01/2020,8N\n")
    with pytest.raises(InputFormatError) as exc:
        from sna.io.police_extract import read_police_extract

        read_police_extract(p, columns={"record_id": "Crime Reference", "date": "When"}, key=KEY,
                            source="police")
    msg = str(exc.value)
    assert "'Crime Reference'" in msg and "record_id" in msg
    assert "the header has: Ref, When, HO Code" in msg
    assert "sources.police.columns.record_id" in msg
    assert str(p) in msg and exc.value.line == 1


def test_required_column_neither_mapped_nor_found(tmp_path):
    with pytest.raises(InputFormatError) as exc:
        resolve_mapping(["Ref", "Date"], "police_extract", file="x.csv")
    msg = str(exc.value)
    assert "'offence_code'" in msg and "'record_id'" in msg and "The header has: Ref, Date" in msg


def test_unknown_canonical_name_in_mapping_is_a_config_error():
    with pytest.raises(ConfigError) as exc:
        resolve_mapping(["Ref"], "police_extract", {"victim_age": "Ref"}, source="police")
    assert "did you mean 'age'" in str(exc.value) or "did you mean" in str(exc.value)
    assert "sources.police.columns.victim_age" in str(exc.value)


# --------------------------------------------------------------------------------------------
# tables and values
# --------------------------------------------------------------------------------------------
def test_csv_gz_and_xlsx_read_alike_with_lines(tmp_path):
    text = 'Ref,Note,Age\nA1,"two\nlines",23\n\nA2,plain,\n'
    (tmp_path / "t.csv").write_text(text)
    with gzip.open(tmp_path / "t.csv.gz", "wt") as fh:
        fh.write(text)
    a = read_table(InputFile(str(tmp_path / "t.csv"), tmp_path / "t.csv"))
    b = read_table(InputFile(str(tmp_path / "t.csv.gz"), tmp_path / "t.csv.gz"))
    assert a["line"].tolist() == [2, 5]  # physical lines: the note spans lines 2-3, line 4 blank
    assert b["Ref"].tolist() == ["A1", "A2"] and b["line"].tolist() == [2, 5]
    assert pd.isna(a.loc[1, "Age"])
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["Ref", "Age"])
    wb.active.append(["A1", 23])
    wb.active.append([None, None])
    wb.active.append(["A2", None])
    wb.save(tmp_path / "t.xlsx")
    c = read_table(InputFile(str(tmp_path / "t.xlsx"), tmp_path / "t.xlsx"))
    assert c["Ref"].tolist() == ["A1", "A2"] and c["line"].tolist() == [2, 4]


@pytest.mark.parametrize("content, message, line", [
    (b"", "empty", None),
    (b"Ref,Age\nA1,23\nA2", "the last line is incomplete", 3),
    (b"Ref,Age\nA1,23,9\nA2,1\n", "found 3", 2),
    (b"Ref,Age\nA1,\xe9\n", "not utf-8 text", 2),
    (b"Ref,Ref\nA1,2\n", "repeats column name", 1),
])
def test_unreadable_tables_name_file_and_line(tmp_path, content, message, line):
    p = tmp_path / "bad.csv"
    p.write_bytes(content)
    with pytest.raises(InputFormatError) as exc:
        read_table(InputFile(str(p), p))
    assert message in str(exc.value).lower()
    assert exc.value.line == line and exc.value.file == str(p)


def test_dates_keep_the_precision_known():
    d, p, bad = parse_dates(pd.Series(["13/06/2020 23:15", "13/06/2020", "2020-06", "13/13/2020", None],
                                      dtype="string"))
    assert p.tolist()[:3] == ["minute", "day", "month"]
    assert bad.tolist() == [False, False, False, True, False]
    assert str(d[0]) == "2020-06-13 23:15:00" and str(d[2]) == "2020-06-01 00:00:00"


def test_blank_flags_are_unknown_not_no():
    flags, bad = parse_flag(pd.Series(["Y", "N", None, "unknown", "x?"]))
    assert flags.tolist()[:2] == [True, False]
    assert flags[2:].isna().all() and bad.tolist() == [False, False, False, False, True]


def test_ethnicity_code_systems_agree():
    eth, _ = parse_ethnicity(pd.Series(["N", "B2", "IC3", "Black or Black British - African",
                                        "Mixed - White and Black African", "R", "A4", "NS", "Z"]))
    assert eth.tolist()[:7] == ["Black", "Black", "Black", "Black", "Mixed", "Asian", "Asian"]
    assert eth[7:].isna().all()


# --------------------------------------------------------------------------------------------
# Home Office offence codes and the local definition
# --------------------------------------------------------------------------------------------
def test_ho_codes_map_to_sna_categories():
    from sna.definitions import classify_offence_codes, ho_offence_codes

    table = ho_offence_codes()
    assert table["offence_code"].is_unique
    expected = {
        "1": ("Homicide", None), "4/1": ("Homicide", None), "2": ("Violence against the person", "Violence with injury"),
        "5D": ("Violence against the person", "Violence with injury"), "8N": ("Violence against the person", "Violence with injury"),
        "105A": ("Violence against the person", "Violence without injury"),
        "8L": ("Violence against the person", "Violence without injury"),
        "3B": ("Violence against the person", "Violence without injury"),
        "34A": ("Robbery", None), "34B": ("Robbery", None), "19C": ("Sexual offences", "Rape"),
        "17A": ("Sexual offences", "Other sexual offences"), "10D": ("Possession of weapons", None),
        "10A": ("Possession of weapons", None), "9A": ("Public order", None), "66": ("Public order", None),
    }
    out = classify_offence_codes(pd.Series(list(expected)))
    for (code, (cat, sub)), (_, row) in zip(expected.items(), out.iterrows()):
        assert row["category"] == cat, code
        assert (pd.isna(row["subcategory"]) if sub is None else row["subcategory"] == sub), code
    assert out["known"].all()


def test_offence_code_overrides_from_config():
    from sna.definitions import classify_offence_codes

    d = DefinitionConfig(offence_codes={"8L": "Public order", "99X": "Violence with injury"})
    out = classify_offence_codes(pd.Series(["8L", "99X", "8N"]), d)
    assert out["category"].tolist() == ["Public order", "Violence against the person", "Violence against the person"]
    assert out["subcategory"].tolist()[1:] == ["Violence with injury", "Violence with injury"]
    with pytest.raises(ConfigError, match="definition.offence_codes.8L"):
        classify_offence_codes(pd.Series(["8L"]), DefinitionConfig(offence_codes={"8L": "Burglary"}))


def test_serious_violence_flag_follows_the_local_definition():
    from sna.definitions import serious_violence_flags

    rows = pd.DataFrame({
        "category": ["Violence against the person", "Violence against the person", "Robbery", "Homicide",
                     "Public order", "Violence against the person"],
        "subcategory": ["Violence with injury", "Violence without injury", None, None, None, "Violence with injury"],
        "knife": pd.array([True, True, False, pd.NA, pd.NA, pd.NA], dtype="boolean"),
        "domestic": pd.array([False, False, False, False, False, True], dtype="boolean"),
    })
    assert serious_violence_flags(rows).tolist() == [True, False, True, True, False, True]
    knife_only = DefinitionConfig(knife_enabled_only=True)
    assert serious_violence_flags(rows, knife_only).tolist() == [True, False, False, True, False, False]
    no_da = DefinitionConfig(include_domestic=False)
    assert serious_violence_flags(rows, no_da).tolist() == [True, False, True, True, False, False]


# --------------------------------------------------------------------------------------------
# each reader through the cleaning
# --------------------------------------------------------------------------------------------
def test_police_extract_cleaned(area, monkeypatch, city_points):
    a = _load(area, monkeypatch)
    q = a.quality.sources["police"]
    assert q.rows_read == 8 and q.rows_kept == 3
    assert q.share_geocoded == 1.0 and any("have coordinates" in n for n in q.notes)
    assert q.set_aside == {"bad_age": 1, "unknown_category": 1, "no_location": 1, "out_of_area": 1,
                           "no_date": 1}
    p = a.source("police").sort_values("line").reset_index(drop=True)
    assert p["line"].tolist() == [2, 3, 4]
    assert p["date_precision"].tolist() == ["minute", "day", "month"]
    assert [str(d) for d in p["date"]] == ["2020-06-13 23:15:00", "2020-06-14 00:00:00", "2020-07-01 00:00:00"]
    assert p["category"].tolist() == ["Violence against the person"] * 2 + ["Robbery"]
    assert p["subcategory"].tolist()[:2] == ["Violence with injury", "Violence without injury"]
    assert p["serious_violence"].tolist() == [True, False, True]
    assert p["knife"].tolist() == [True, False, True]
    assert p["domestic"].tolist() == [False, True, False]
    assert p["offence_code"].tolist() == ["8N", "105A", "34B"]
    assert p["crime_type"].tolist()[2] == "Robbery of personal property"  # from the code table
    (l1, _, _), (l2, x2, y2) = city_points
    assert p["lsoa"].tolist() == [l1, l2, l2]  # row 2 placed by point in polygon
    assert p.loc[1, "x"] == x2 and pd.isna(p.loc[2, "x"])
    assert p["age"].tolist()[:2] == [19, 31] and p["ethnicity"].tolist()[:2] == ["White", "Black"]
    assert p["offender_age"].tolist()[:2] == [22, 33]
    assert p["fy"].tolist() == ["2020/21"] * 3
    quar = a.quarantine[a.quarantine["source"] == "police"].set_index("line")
    assert quar.loc[5, "reason"] == "bad_age" and "'250'" in quar.loc[5, "detail"]
    assert "Victim Age" in quar.loc[5, "detail"]
    assert quar.loc[6, "reason"] == "unknown_category" and "ZZ9" in quar.loc[6, "detail"]
    assert quar.loc[9, "reason"] == "no_date"
    # the quarantine record is the row as read, with the file's own column names
    rec = json.loads(quar.loc[5, "record"])
    assert rec["Victim Age"] == "250" and rec["Crime Ref"] != "NT/20/000004"
    assert all(f.endswith("extract.csv") for f in quar["file"])


def test_ambulance_cleaned(area, monkeypatch, city_points):
    a = _load(area, monkeypatch)
    q = a.quality.sources["ambulance"]
    assert (q.rows_read, q.rows_kept, q.set_aside) == (3, 2, {"unknown_category": 1})
    amb = a.source("ambulance").sort_values("line").reset_index(drop=True)
    assert amb["category"].tolist() == ["Assault", "Assault"]
    assert amb["weapon"].tolist() == ["Stab/Gunshot/Penetrating Trauma", "Assault"]
    assert amb["knife"].isna().all()  # a combined stab / gunshot call does not say which
    assert amb["date_precision"].tolist() == ["minute", "minute"]
    # longitude / latitude converted to the grid and placed by point in polygon
    (_, _, _), (l2, x2, y2) = city_points
    assert amb.loc[1, "lsoa"] == l2 and abs(amb.loc[1, "x"] - x2) < 1 and abs(amb.loc[1, "y"] - y2) < 1
    # an age band is never turned into an age
    assert amb["age"].tolist()[0] == 19 and pd.isna(amb.loc[1, "age"])
    assert any("age band" in n for n in q.notes)


def test_ecds_cleaned(area, monkeypatch, city_points):
    a = _load(area, monkeypatch)
    q = a.quality.sources["ecds"]
    assert (q.rows_read, q.rows_kept, q.set_aside) == (3, 2, {"out_of_area": 1})
    assert q.share_geocoded == 0.5  # placed in an LSOA; the home LSOA does not count
    ed = a.source("ecds").sort_values("line").reset_index(drop=True)
    (l1, _, _), (l2, _, _) = city_points
    # the arrival is the date; the home LSOA is never used as the place of the assault
    assert str(ed.loc[0, "date"]) == "2020-06-14 00:30:00"
    assert ed["lsoa"].tolist()[0] == l1 and pd.isna(ed.loc[1, "lsoa"]) and pd.isna(ed.loc[1, "partnership"])
    assert ed["home_lsoa"].tolist() == [l2, l2]
    assert ed["knife"].tolist() == [True, False]
    assert ed["sex"].tolist() == ["Male", "Female"] and ed["ethnicity"].tolist() == ["White", "Black"]
    assert ed["site"].tolist() == ["RX1RA", "RX1RA"]
    assert ed["serious_violence"].all()
    # the set-aside attendance's record keeps no free text (it may name people)
    rec = a.quarantine.loc[a.quarantine["source"] == "ecds", "record"].iloc[0]
    assert "Bloggs" not in rec and "Location Description" not in rec
    assert json.loads(rec)["Incident LSOA"] == "E01019442"


def test_interventions_cleaned_and_age_250_set_aside(area, monkeypatch, city_points):
    a = _load(area, monkeypatch)
    q = a.quality.sources["interventions"]
    assert (q.rows_read, q.rows_kept) == (4, 2)
    assert q.set_aside == {"bad_age": 1, "no_date": 1}
    quar = a.quarantine[a.quarantine["source"] == "interventions"].set_index("line")
    assert quar.loc[4, "reason"] == "bad_age" and "'250'" in quar.loc[4, "detail"]
    assert quar.loc[4, "file"].endswith("participants.xlsx")
    assert json.loads(quar.loc[4, "record"])["Client ID"] != "C-003"
    p = a.participants.sort_values("line").reset_index(drop=True)
    assert p["intervention"].tolist() == ["Mentoring", "Custody navigators"]
    # provider and level come from the interventions table
    assert p["provider"].tolist() == ["Provider A", "Provider B"]
    assert p["level"].tolist() == ["secondary", "tertiary"]
    assert p["fy"].tolist() == ["2020/21", "2020/21"]
    assert p["age"].tolist() == [15, 19]
    (l1, _, _), _ = city_points
    assert p["partnership"].tolist()[0] == "Nottingham City" and pd.isna(p.loc[1, "partnership"])
    assert p["outcome_start"].tolist() == [18, 20] and p["outcome_end"].tolist()[0] == 22
    assert p["offending_before"].tolist() == [False, True] and pd.isna(p.loc[1, "offending_after"])
    assert pd.isna(p.loc[1, "end_date"]) and pd.isna(p.loc[1, "ethnicity"])
    assert p["person_id"].str.len().eq(16).all()
    iv = a.interventions
    assert iv["cost"].tolist() == [25000.0, 12000.0] and iv["fy"].tolist() == ["2020/21", "2020/21"]
    assert iv["level"].tolist() == ["secondary", "tertiary"]


def test_every_source_reconciles(area, monkeypatch):
    a = _load(area, monkeypatch)
    for s in a.quality.sources.values():
        assert s.rows_read == s.rows_kept + sum(s.set_aside.values())
        assert len(a.quarantine[a.quarantine["source"] == s.name]) == sum(s.set_aside.values())


def test_missing_key_is_an_error_never_raw_ids(area, monkeypatch):
    import sna

    monkeypatch.delenv("SNA_PSEUDONYMISATION_KEY", raising=False)
    (area / "key.txt").unlink()
    with pytest.raises(PrivacyError, match="privacy.key_file"):
        sna.load_assessment(area / "sna.yml", use_cache=False)
    cfg = yaml.safe_load((area / "sna.yml").read_text())
    cfg["privacy"] = {}
    (area / "sna.yml").write_text(yaml.safe_dump(cfg))
    with pytest.raises(PrivacyError) as exc:
        sna.load_assessment(area / "sna.yml", use_cache=False)
    msg = str(exc.value)
    assert "SNA_PSEUDONYMISATION_KEY" in msg and "privacy.key_env" in msg
    # the first source read (sources are read in the config's order; safe_dump sorted them)
    assert "'ambulance'" in msg and "'Incident No'" in msg
    # a source without identifiers needs no key
    from sna.io.health import read_ambulance

    p = area / "noid.csv"
    p.write_text("Call Date,Call Category,LSOA\n2020-06-13,Assault,E01013810\n")
    assert len(read_ambulance(p)) == 1


def test_no_raw_identifier_in_cache_or_quarantine(area, monkeypatch):
    a = _load(area, monkeypatch)
    raw_ids = ["NT/20/000001", "NT/20/000004", "V-0001", "A-1", "ED-1", "999 000 0001", "9990000001",
               "C-001", "C-003"]
    texts = []
    for f in (area / "cache").rglob("*"):
        if f.suffix == ".parquet":
            df = pd.read_parquet(f)
            text_cols = [c for c in df.columns if c != "geometry"]
            texts.append(df[text_cols].astype(str).to_csv())
        elif f.is_file():
            texts.append(f.read_bytes().decode("utf-8", "replace"))
    texts.append(a.quarantine.to_csv())
    blob = "\n".join(texts)
    assert "record" in blob  # the quarantine is in the cache
    for rid in raw_ids:
        assert rid not in blob, rid
    # pseudonyms are deterministic: the same key gives the same ids
    from sna.privacy import Pseudonymiser

    assert Pseudonymiser(KEY).one("NT/20/000001") in set(a.source("police")["record_id"])


def test_a_new_key_is_a_new_cache(area, monkeypatch):
    a = _load(area, monkeypatch)
    (area / "key.txt").write_text("another key for the same files\n")
    b = _load(area, monkeypatch)
    assert a.cache_key != b.cache_key
    assert not set(a.source("police")["record_id"]) & set(b.source("police")["record_id"])


def test_detectors_propose_configs_for_sna_init(area):
    from sna.cli import detect_source_format

    police = detect_source_format(area / "police")
    assert police["format"] == "police_extract" and police["columns"]["offence_code"] == "HO Code"
    assert detect_source_format(area / "ambulance.csv.gz")["format"] == "ambulance"
    assert detect_source_format(area / "ecds.csv")["format"] == "ecds"
    iv = area / "iv"
    iv.mkdir()
    shutil.copy(area / "participants.xlsx", iv)
    shutil.copy(area / "interventions.csv", iv)
    found = detect_source_format(iv)
    assert found["format"] == "interventions"
    assert found["interventions_table"].endswith("interventions.csv")
    assert found["columns"]["participants.person_id"] == "Client ID"
    assert found["columns"]["interventions.cost"] == "Budget"


def test_folder_of_participants_skips_the_interventions_table(area, monkeypatch):
    import sna

    iv = area / "iv"
    iv.mkdir()
    shutil.move(area / "participants.xlsx", iv / "participants.xlsx")
    shutil.move(area / "interventions.csv", iv / "interventions.csv")
    cfg = yaml.safe_load((area / "sna.yml").read_text())
    cfg["sources"]["interventions"]["path"] = "iv/"
    cfg["sources"]["interventions"]["interventions_table"] = "iv/interventions.csv"
    (area / "sna.yml").write_text(yaml.safe_dump(cfg))
    monkeypatch.delenv("SNA_PSEUDONYMISATION_KEY", raising=False)
    a = sna.load_assessment(area / "sna.yml", use_cache=False)
    assert len(a.participants) == 2 and len(a.interventions) == 2


def test_link_to_police_measures_the_share_known_to_police():
    from sna.io.health import link_to_police

    police = pd.DataFrame({"lsoa": ["E1", "E2"], "date": pd.to_datetime(["2020-06-13 23:00", "2020-06-20 00:00"]),
                           "sex": ["Male", "Female"], "age": [19, 30]})
    ed = pd.DataFrame({"lsoa": ["E1", "E2", "E2", "E1"],
                       "date": pd.to_datetime(["2020-06-14 01:00", "2020-06-20 00:00", "2020-06-25 00:00",
                                               "2020-06-14 00:00"]),
                       "sex": ["Male", "Female", "Female", "Female"], "age": [20, 30, 30, 19]})
    assert link_to_police(ed, police).tolist() == [True, True, False, False]


def test_init_proposal_leaves_out_columns_renamed_between_files(tmp_path):
    from sna.io.police_extract import detect_police_extract

    (tmp_path / "2019.csv").write_text("Crime Ref,HO Class Code,Offence Date,Victim Age\n")
    (tmp_path / "2020.csv").write_text("Crime Ref,HO Code,Offence Date,Victim Age\n")
    cols = detect_police_extract(tmp_path)["columns"]
    assert cols == {"record_id": "Crime Ref", "date": "Offence Date", "age": "Victim Age"}


# --------------------------------------------------------------------------------------------
# dates read by column, not by value
# --------------------------------------------------------------------------------------------
DEMO = SAMPLE.parent / "demo"


def _demo_ambulance(tmp_path, rewrite, keep=None):
    """The demo's ambulance file with its ISO dates rewritten, and its config mapping."""
    import sna.datasets

    cfg = yaml.safe_load((DEMO / "sna.yml").read_text())
    src = next((DEMO / "ambulance").glob("*.csv.gz"))
    df = pd.read_csv(src, dtype=str, keep_default_na=False)
    if keep is not None:
        df = df[keep(df)]
    iso = pd.to_datetime(df["Incident Date"])
    df["Incident Date"] = [rewrite(t) for t in iso]
    p = tmp_path / "ambulance.csv"
    df.to_csv(p, index=False)
    return p, cfg["sources"]["ambulance"]["columns"], iso.reset_index(drop=True)


def test_us_dates_in_the_demo_ambulance_file_are_read_month_first(tmp_path):
    from sna.io.partner import read_partner

    p, columns, iso = _demo_ambulance(tmp_path, lambda t: t.strftime("%m/%d/%Y"))
    out = read_partner(p, "ambulance", columns=columns, key=KEY)
    # value by value (day first) 9,401 rows were kept with day and month swapped and 15,461
    # set aside; read by column, every date is the file's own
    assert len(out) == 25714 and out["set_aside"].isna().all()
    assert (out["date"].dt.normalize() == iso).all()
    notes = out.attrs["sna"]["notes"]
    assert any("'Incident Date' (date): numeric dates read month first, as in the US "
               "(mm/dd/yyyy), decided from all its values" in n for n in notes)
    # the UK spelling of the same file is read day first
    p2, _, _ = _demo_ambulance(tmp_path, lambda t: t.strftime("%d/%m/%Y"))
    uk = read_partner(p2, "ambulance", columns=columns, key=KEY)
    assert (uk["date"].dt.normalize() == iso).all()


def test_a_column_of_only_small_days_is_ambiguous_unless_configured(tmp_path, capsys):
    from sna.io.partner import read_partner

    p, columns, iso = _demo_ambulance(tmp_path, lambda t: t.strftime("%m/%d/%Y"),
                                      keep=lambda df: pd.to_datetime(df["Incident Date"]).dt.day <= 12)
    with pytest.raises(InputFormatError) as e:
        read_partner(p, "ambulance", columns=columns, key=KEY, source="ambulance")
    msg = str(e.value)
    assert str(p) in msg and "'Incident Date'" in msg and "date_format: monthfirst" in msg
    assert "sources.ambulance" in msg
    out = read_partner(p, "ambulance", columns=columns, key=KEY, date_format="monthfirst")
    assert (out["date"].dt.normalize() == iso).all()
    # a mixed column: UK and US rows together
    mixed = tmp_path / "mixed.csv"
    mixed.write_text("Incident Number,Incident Date,Call Category,Incident LSOA\n"
                     "1,13/06/2020,Assault,E01013810\n2,06/14/2020,Assault,E01013810\n")
    with pytest.raises(InputFormatError, match="mixes day-first and month-first dates"):
        read_partner(mixed, "ambulance", key=KEY)


def test_date_format_key_is_validated_and_used(tmp_path):
    from sna.config import SourceConfig

    assert SourceConfig(format="ambulance", path="a.csv", date_format="monthfirst").date_format == "monthfirst"
    assert SourceConfig(format="ambulance", path="a.csv", date_format="%m/%d/%Y %H:%M").date_format
    with pytest.raises(ValueError, match="not a date format"):
        SourceConfig(format="ambulance", path="a.csv", date_format="mm/dd/yyyy")


def test_excel_serial_dates_are_converted_with_a_note(tmp_path):
    from sna.io.partner import read_partner

    p = tmp_path / "serial.csv"
    # 43995 = 2020-06-13 (Excel's day numbers, from 1899-12-30); 43995.5 = noon
    p.write_text("Incident Number,Incident Date,Call Category,Incident LSOA\n"
                 "1,43995,Assault,E01013810\n2,43995.5,Assault,E01013810\n3,2020-06-14,Assault,E01013810\n")
    out = read_partner(p, "ambulance", key=KEY)
    assert [str(d) for d in out["date"]] == ["2020-06-13 00:00:00", "2020-06-13 12:00:00",
                                             "2020-06-14 00:00:00"]
    assert out["set_aside"].isna().all()
    assert any("2 value(s) of column 'Incident Date' (date) were Excel serial day numbers" in n
               for n in out.attrs["sna"]["notes"])


def test_participants_text_start_dates_in_us_order(tmp_path):
    """The demo's participants with their start dates as US text (1,561 of 1,712 kept rows
    were mis-dated when read value by value)."""
    from sna.io.partner import read_partner

    src = DEMO / "interventions" / "participants_2019-2022.xlsx"
    df = pd.read_excel(src)
    truth = df["Start Date"].reset_index(drop=True)
    for c in ("Referral Date", "Start Date", "End Date"):
        df[c] = df[c].dt.strftime("%m/%d/%Y")
    p = tmp_path / "participants.csv"
    df.to_csv(p, index=False)
    cols = yaml.safe_load((DEMO / "sna.yml").read_text())["sources"]["interventions"]["columns"]
    out = read_partner(p, "interventions", columns=cols, key=KEY, prefix="participants")
    got = out["start_date"].reset_index(drop=True)
    assert truth.notna().sum() == 4192
    pd.testing.assert_series_equal(got.dt.normalize(), truth.astype("datetime64[ns]"),
                                   check_names=False)


# --------------------------------------------------------------------------------------------
# workbooks read whole or refused
# --------------------------------------------------------------------------------------------
def _two_sheet_participants(path):
    """The demo's participants split over two sheets (the second's 100 would be never read)."""
    df = pd.read_excel(DEMO / "interventions" / "participants_2019-2022.xlsx")
    with pd.ExcelWriter(path) as xl:
        df.iloc[:-100].to_excel(xl, sheet_name="2019-2021", index=False)
        df.iloc[-100:].to_excel(xl, sheet_name="2021-22", index=False)
        pd.DataFrame({"Notes": []}).to_excel(xl, sheet_name="Notes", index=False)  # a header only
    return df


def test_two_sheets_with_data_and_no_sheet_key_is_refused(tmp_path):
    from sna.io.partner import read_partner

    p = tmp_path / "participants.xlsx"
    df = _two_sheet_participants(p)
    cols = yaml.safe_load((DEMO / "sna.yml").read_text())["sources"]["interventions"]["columns"]
    with pytest.raises(InputFormatError) as e:
        read_partner(p, "interventions", columns=cols, key=KEY, prefix="participants")
    msg = str(e.value)
    assert "2 sheets ('2019-2021', '2021-22')" in msg and "'sheet'" in msg and str(p) in msg
    # naming the sheet reads that one whole
    out = read_partner(p, "interventions", columns=cols, key=KEY, prefix="participants",
                       sheet="2021-22")
    assert len(out) == 100 and out["line"].tolist() == list(range(2, 102))
    with pytest.raises(InputFormatError, match="sheets are '2019-2021', '2021-22', 'Notes'"):
        read_partner(p, "interventions", columns=cols, key=KEY, prefix="participants", sheet="2022")
    assert len(df) == 4194


def test_merged_or_blank_header_cell_is_refused_naming_the_cell(tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Incident Number", "Incident Date", "Call Category", "Incident LSOA", None])
    ws.append(["1", "13/06/2020", "Assault", "E01013810", "x"])
    p = tmp_path / "blank.xlsx"
    wb.save(p)
    with pytest.raises(InputFormatError) as e:
        read_table(InputFile(str(p), p))
    assert "header cell E1 is blank but its column holds data" in str(e.value)
    assert e.value.column == "E1" and e.value.line == 1
    ws["E1"] = "Notes"
    ws.merge_cells("C1:D1")
    wb.save(p)
    with pytest.raises(InputFormatError, match="header cells C1:D1 are merged"):
        read_table(InputFile(str(p), p))
