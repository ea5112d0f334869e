import CSQLite
import Foundation

/// A thin, synchronous wrapper over the system libsqlite3: one connection, prepared statements,
/// typed binds and columns. Not thread-safe by itself: `BlockCatalog` only uses it under its
/// mutex (hence the unchecked conformance).
final class SQLiteConnection: @unchecked Sendable {
    private var db: OpaquePointer?
    let path: String

    init(path: String) throws {
        self.path = path
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close(db)
            db = nil
            throw SQLiteError(code: rc, message: "opening \(path): \(message)")
        }
        // Another process holding the database (a `strata bucket` command) waits, not fails.
        sqlite3_busy_timeout(db, 5000)
    }

    deinit { close() }

    func close() {
        if let db { sqlite3_close_v2(db) }
        db = nil
    }

    /// Runs one or more statements that return no rows.
    func exec(_ sql: String) throws {
        var error: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(db, sql, nil, nil, &error)
        if rc != SQLITE_OK {
            let message = error.map { String(cString: $0) } ?? lastMessage
            sqlite3_free(error)
            throw SQLiteError(code: rc, message: message)
        }
    }

    /// Runs `sql` with `binds` and calls `row` for each result row.
    func query(_ sql: String, _ binds: [SQLiteValue] = [], row: (SQLiteRow) throws -> Void = { _ in }) throws {
        var stmt: OpaquePointer?
        var rc = sqlite3_prepare_v2(db, sql, -1, &stmt, nil)
        guard rc == SQLITE_OK, let stmt else { throw SQLiteError(code: rc, message: "\(lastMessage) in: \(sql)") }
        defer { sqlite3_finalize(stmt) }
        for (i, v) in binds.enumerated() {
            let at = Int32(i + 1)
            switch v {
            case .null: rc = sqlite3_bind_null(stmt, at)
            case .int(let n): rc = sqlite3_bind_int64(stmt, at, n)
            case .double(let d): rc = sqlite3_bind_double(stmt, at, d)
            case .text(let s): rc = sqlite3_bind_text(stmt, at, s, -1, SQLiteConnection.transient)
            }
            guard rc == SQLITE_OK else { throw SQLiteError(code: rc, message: lastMessage) }
        }
        while true {
            rc = sqlite3_step(stmt)
            if rc == SQLITE_DONE { return }
            guard rc == SQLITE_ROW else { throw SQLiteError(code: rc, message: lastMessage) }
            try row(SQLiteRow(stmt: stmt))
        }
    }

    /// The statements of `body` as one transaction (rolled back when it throws).
    func transaction<T>(_ body: () throws -> T) throws -> T {
        try exec("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try exec("COMMIT")
            return result
        } catch {
            try? exec("ROLLBACK")
            throw error
        }
    }

    private var lastMessage: String { db.map { String(cString: sqlite3_errmsg($0)) } ?? "closed" }

    /// SQLITE_TRANSIENT: SQLite copies bound text before the call returns.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
}

enum SQLiteValue {
    case null
    case int(Int64)
    case double(Double)
    case text(String)

    static func optional(_ s: String?) -> SQLiteValue { s.map(SQLiteValue.text) ?? .null }
    static func optional(_ d: Double?) -> SQLiteValue { d.map(SQLiteValue.double) ?? .null }
}

struct SQLiteRow {
    fileprivate let stmt: OpaquePointer

    func int(_ i: Int32) -> Int64 { sqlite3_column_int64(stmt, i) }
    func double(_ i: Int32) -> Double { sqlite3_column_double(stmt, i) }
    func isNull(_ i: Int32) -> Bool { sqlite3_column_type(stmt, i) == SQLITE_NULL }
    func text(_ i: Int32) -> String? {
        guard let p = sqlite3_column_text(stmt, i) else { return nil }
        return String(cString: p)
    }
}

struct SQLiteError: Error, CustomStringConvertible {
    let code: Int32
    let message: String
    var description: String { "sqlite error \(code): \(message)" }

    /// The file is not a database, or its pages are damaged.
    var isCorruption: Bool { code == SQLITE_CORRUPT || code == SQLITE_NOTADB }
}
