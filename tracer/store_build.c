/*
 * store_build.c - builds in the database: registering a kernel ELF (symbols, coverage
 * map), loading a stored build into memory, function ranges (see store_db.h).
 */
#include "store_db.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "covmap.h"

/* ---- builds ------------------------------------------------------------------------- */

static struct ft_build *cached_build(struct ft_db *db, int64_t id)
{
	size_t i;

	for (i = 0; i < db->nbuilds; i++)
		if (db->builds[i]->id == id)
			return db->builds[i];
	return NULL;
}

static void cache_build(struct ft_db *db, struct ft_build *b)
{
	db->builds = ft_xrealloc(db->builds, (db->nbuilds + 1) * sizeof(*db->builds));
	db->builds[db->nbuilds++] = b;
}

static int64_t build_row(struct ft_db *db, const char *build_id)
{
	sqlite3_stmt *s;
	int64_t id = 0;

	if (sqlite3_prepare_v2(db->h, "SELECT id FROM builds WHERE build_id=?", -1, &s,
			       NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(s, 1, build_id, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW)
		id = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return id;
}

static int insert_build(struct ft_db *db, const char *build_id, const char *elf,
			const char *src_root, int64_t *id, char *err, size_t errlen)
{
	sqlite3_stmt *s;
	char ts[32];
	int rc;

	store_now_iso(ts, sizeof(ts));
	if (sqlite3_prepare_v2(db->h, "INSERT INTO builds(build_id,elf_path,src_root,added_at)"
			       " VALUES(?,?,?,?)", -1, &s, NULL) != SQLITE_OK)
		return store_err(db, err, errlen, "adding a build");
	sqlite3_bind_text(s, 1, build_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, elf, -1, SQLITE_STATIC);
	if (src_root)
		sqlite3_bind_text(s, 3, src_root, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, ts, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return store_err(db, err, errlen, "adding a build");
	*id = sqlite3_last_insert_rowid(db->h);
	return 0;
}

static int insert_symbols(struct ft_db *db, const struct ft_build *b, char *err, size_t errlen)
{
	sqlite3_stmt *s;
	size_t i;

	if (sqlite3_prepare_v2(db->h, "INSERT INTO symbols(build,lo,hi,name) VALUES(?,?,?,?)",
			       -1, &s, NULL) != SQLITE_OK)
		return store_err(db, err, errlen, "storing symbols");
	for (i = 0; i < b->st.syms.len; i++) {
		const struct ft_sym *y = FT_VEC_AT(&b->st.syms, struct ft_sym, i);

		sqlite3_bind_int64(s, 1, b->id);
		sqlite3_bind_int64(s, 2, (sqlite3_int64)y->lo);
		sqlite3_bind_int64(s, 3, (sqlite3_int64)y->hi);
		sqlite3_bind_text(s, 4, ft_sym_name(&b->st, y), -1, SQLITE_STATIC);
		if (sqlite3_step(s) != SQLITE_DONE) {
			sqlite3_finalize(s);
			return store_err(db, err, errlen, "storing symbols");
		}
		sqlite3_reset(s);
	}
	sqlite3_finalize(s);
	return 0;
}

/* ---- coverage map (covmap.h) -------------------------------------------------------- */

struct cov_ins {
	struct ft_build *b;
	sqlite3_stmt *s;
};

static int insert_cov_line(void *ctx, uint32_t point, const char *file, int line)
{
	struct cov_ins *c = ctx;

	sqlite3_bind_int64(c->s, 1, c->b->id);
	sqlite3_bind_int64(c->s, 2, point);
	sqlite3_bind_text(c->s, 3, ft_build_rel_path(c->b, file), -1, SQLITE_STATIC);
	sqlite3_bind_int(c->s, 4, line);
	return store_step_done(c->s);
}

static int insert_cov_points(struct ft_db *db, struct ft_build *b)
{
	sqlite3_stmt *s;
	size_t i;
	int rc = 0;

	if (sqlite3_prepare_v2(db->h, "INSERT INTO cov_points(build,idx,pc,func) VALUES(?,?,?,?)",
			       -1, &s, NULL) != SQLITE_OK)
		return -1;
	for (i = 0; i < b->cov_points.len && rc == 0; i++) {
		uint64_t pc = *FT_VEC_AT(&b->cov_points, uint64_t, i);

		sqlite3_bind_int64(s, 1, b->id);
		sqlite3_bind_int64(s, 2, (sqlite3_int64)i);
		sqlite3_bind_int64(s, 3, (sqlite3_int64)pc);
		store_bind_text(s, 4, ft_build_sym_name(b, ft_build_func_at(b, pc - 1)));
		rc = store_step_done(s);
	}
	sqlite3_finalize(s);
	return rc;
}

/* Store the points of a build registered with its ELF, and their lines, unless stored:
 * a build first seen before schema v4 gets them when its ELF is registered again. */
static int insert_cov_map(struct ft_db *db, struct ft_build *b, char *err, size_t errlen)
{
	struct ft_vec bounds;
	struct cov_ins c = { b, NULL };
	int have = 0, rc = 0;

	if (sqlite3_prepare_v2(db->h, "SELECT count(*) FROM cov_points WHERE build=?", -1, &c.s,
			       NULL) != SQLITE_OK)
		return store_err(db, err, errlen, "reading the coverage map");
	sqlite3_bind_int64(c.s, 1, b->id);
	if (sqlite3_step(c.s) == SQLITE_ROW)
		have = sqlite3_column_int(c.s, 0);
	sqlite3_finalize(c.s);
	ft_vec_init(&bounds, sizeof(struct ft_cov_bound));
	if (!have && ft_cov_points(&b->st, &b->cov_points, &bounds)) {
		rc = insert_cov_points(db, b);
		if (rc == 0 && sqlite3_prepare_v2(db->h, "INSERT OR IGNORE INTO cov_lines(build,"
						  "point,file,line) VALUES(?,?,?,?)", -1, &c.s,
						  NULL) == SQLITE_OK) {
			rc = ft_cov_lines(&b->st, &bounds, insert_cov_line, &c);
			sqlite3_finalize(c.s);
		} else {
			rc = -1;
		}
	}
	ft_vec_free(&bounds);
	return rc < 0 ? store_err(db, err, errlen, "storing the coverage map") : 0;
}

/* The points of a stored build, in bit order. */
static void load_cov_points(struct ft_db *db, struct ft_build *b)
{
	sqlite3_stmt *s;

	b->cov_points.len = 0;
	if (sqlite3_prepare_v2(db->h, "SELECT pc FROM cov_points WHERE build=? ORDER BY idx", -1,
			       &s, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_int64(s, 1, b->id);
	while (sqlite3_step(s) == SQLITE_ROW)
		*(uint64_t *)ft_vec_push(&b->cov_points) = (uint64_t)sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
}

int ft_db_add_kernel(struct ft_db *db, const char *elf_path, const char *src_root,
		     int64_t *build_out, char *err, size_t errlen)
{
	struct ft_build *b = ft_build_new(0, NULL, src_root);
	struct ft_build *have;
	int64_t id;

	if (ft_symtab_load_elf(&b->st, elf_path, 1, err, errlen) < 0)
		goto out_free;
	if (!b->st.build_id[0]) {
		ft_set_err(err, errlen, "%s has no GNU build-id note (link it with "
			   "--build-id=sha1)", elf_path);
		goto out_free;
	}
	memcpy(b->build_id, b->st.build_id, sizeof(b->build_id));
	b->check_build_id = 1;
	if (store_exec(db, "BEGIN IMMEDIATE", err, errlen) < 0)
		goto out_free;
	id = build_row(db, b->build_id);
	if (id < 0) {
		store_err(db, err, errlen, "looking up the build");
		goto out_rollback;
	}
	if (id > 0) {
		sqlite3_stmt *s;

		/* the same build seen again: remember where its ELF lives now */
		if (sqlite3_prepare_v2(db->h, "UPDATE builds SET elf_path=?, src_root="
				       "coalesce(?, src_root) WHERE id=?", -1, &s, NULL) ==
		    SQLITE_OK) {
			sqlite3_bind_text(s, 1, elf_path, -1, SQLITE_STATIC);
			if (src_root)
				sqlite3_bind_text(s, 2, src_root, -1, SQLITE_STATIC);
			sqlite3_bind_int64(s, 3, id);
			sqlite3_step(s);
			sqlite3_finalize(s);
		}
		b->id = id;
	} else {
		if (insert_build(db, b->build_id, elf_path, src_root, &b->id, err, errlen) < 0)
			goto out_rollback;
		if (insert_symbols(db, b, err, errlen) < 0)
			goto out_rollback;
	}
	if (insert_cov_map(db, b, err, errlen) < 0)
		goto out_rollback;
	if (store_exec(db, "COMMIT", err, errlen) < 0)
		goto out_rollback;
	*build_out = b->id;
	have = cached_build(db, b->id);
	if (have) {
		if (!have->cov_points.len)
			load_cov_points(db, have);
		ft_build_free(b); /* runs in flight keep using the cached one */
	} else {
		load_cov_points(db, b);
		cache_build(db, b);
	}
	return 0;

out_rollback:
	sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
out_free:
	ft_build_free(b);
	return -1;
}

int ft_db_add_anonymous(struct ft_db *db, const char *build_id, int64_t *build_out,
			char *err, size_t errlen)
{
	int64_t id = build_row(db, build_id);

	if (id < 0)
		return store_err(db, err, errlen, "looking up the build");
	if (id == 0 && insert_build(db, build_id, "", NULL, &id, err, errlen) < 0)
		return -1;
	*build_out = id;
	return ft_store_build(db, id, err, errlen) ? 0 : -1;
}

struct ft_build *ft_store_build(struct ft_db *db, int64_t id, char *err, size_t errlen)
{
	struct ft_build *b = cached_build(db, id);
	sqlite3_stmt *s;
	char elf[4096] = "";

	if (b)
		return b;
	if (sqlite3_prepare_v2(db->h, "SELECT build_id, elf_path, src_root FROM builds "
			       "WHERE id=?", -1, &s, NULL) != SQLITE_OK) {
		store_err(db, err, errlen, "loading a build");
		return NULL;
	}
	sqlite3_bind_int64(s, 1, id);
	if (sqlite3_step(s) != SQLITE_ROW) {
		sqlite3_finalize(s);
		ft_set_err(err, errlen, "no build with id %" PRId64, id);
		return NULL;
	}
	b = ft_build_new(id, (const char *)sqlite3_column_text(s, 0),
			 (const char *)sqlite3_column_text(s, 2));
	snprintf(elf, sizeof(elf), "%s", (const char *)sqlite3_column_text(s, 1));
	sqlite3_finalize(s);
	b->check_build_id = elf[0] != 0;
	/* DWARF from the ELF if it is still there and still the same build */
	if (elf[0] && ft_symtab_load_elf(&b->st, elf, 0, NULL, 0) == 0 &&
	    strcmp(b->st.build_id, b->build_id) != 0) {
		ft_symtab_close(&b->st);
		ft_symtab_init(&b->st);
	}
	if (sqlite3_prepare_v2(db->h, "SELECT lo, hi, name FROM symbols WHERE build=?", -1, &s,
			       NULL) == SQLITE_OK) {
		sqlite3_bind_int64(s, 1, id);
		while (sqlite3_step(s) == SQLITE_ROW)
			ft_symtab_add(&b->st, (uint64_t)sqlite3_column_int64(s, 0),
				      (uint64_t)sqlite3_column_int64(s, 1),
				      (const char *)sqlite3_column_text(s, 2));
		sqlite3_finalize(s);
	}
	ft_symtab_seal(&b->st);
	load_cov_points(db, b);
	cache_build(db, b);
	return b;
}

int ft_db_func_range(struct ft_db *db, int64_t build, const char *func, uint64_t *lo,
		     uint64_t *hi)
{
	struct ft_build *b = ft_store_build(db, build, NULL, 0);
	size_t i;

	if (!b || !func)
		return -1;
	for (i = 0; i < b->st.syms.len; i++) {
		const struct ft_sym *y = FT_VEC_AT(&b->st.syms, struct ft_sym, i);

		if (strcmp(ft_sym_name(&b->st, y), func) == 0) {
			*lo = y->lo;
			*hi = y->hi;
			return 0;
		}
	}
	return -1;
}
