internal import CGit2
import Foundation

extension GitRepository {
    /// Adds a note on `commit` under `notesRef` (a full ref, or a short name such as `coffer` for
    /// `refs/notes/coffer`), replacing any note already there, so that `git log --notes=coffer` shows it.
    ///
    /// In a repository opened in place, the note is written there. In a mirror, the note must reach the origin,
    /// which is where people read the log: when the origin is a local repository with a working directory, the
    /// note is written into it directly, because libgit2's local transport refuses to push into a repository
    /// that is not bare; otherwise (a bare local origin or a network remote) the notes ref is pushed, as
    /// `git push origin refs/notes/coffer` would, after fetching the origin's notes so that the push is a
    /// fast-forward that keeps everyone's notes (retried if the origin moved on meanwhile). Either way the
    /// mirror then fetches the notes ref, so `note(for:)` reads the note back at once.
    ///
    /// The corresponding C functions are `git_note_create` and `git_remote_push`.
    public func addNote(to commit: String, message: String, notesRef: String = "refs/notes/coffer") throws {
        try serialized {
            let ref = try Self.notesReference(notesRef)
            var id = try commitID(commit)
            guard let origin else {
                try writeNote(on: &id, message: message, ref: ref)
                return
            }
            if let local = localPath(of: origin) {
                let originRepository = try GitRepository.open(at: local)
                if !originRepository.isBare {
                    try originRepository.serialized {
                        try originRepository.writeNote(on: &id, message: message, ref: ref)
                    }
                    try fetchOrigin(refspecs: ["+\(ref):\(ref)"], prune: false, origin: origin)
                    return
                }
            }
            try pushNote(on: id, message: message, ref: ref, origin: origin)
        }
    }

    /// Writes the note in the mirror on top of the origin's notes and pushes them, retrying when refused.
    private func pushNote(on id: git_oid, message: String, ref: String, origin: String) throws {
        let attempts = 3
        for attempt in 1...attempts {
            try fetchOrigin(refspecs: ["+\(ref):\(ref)"], prune: false, origin: origin)
            var id = id
            try writeNote(on: &id, message: message, ref: ref)
            do {
                try pushToOrigin(["\(ref):\(ref)"], origin: origin)
                return
            } catch let error as GitError where error.code == .rejected && attempt < attempts {
                continue
            }
        }
    }

    /// The note on `commit` under `notesRef` (a full ref or a short name), or nil when it has none; a mirror
    /// reads the notes it last fetched (including those it added itself).
    ///
    /// The corresponding C function is `git_note_read`.
    public func note(for commit: String, notesRef: String = "refs/notes/coffer") throws -> String? {
        try serialized {
            let ref = try Self.notesReference(notesRef)
            var id = try commitID(commit)
            var note: OpaquePointer?
            let result = git_note_read(&note, pointer, ref, &id)
            if result == GIT_ENOTFOUND.rawValue { return nil }
            try check("git_note_read", "could not read the note on \(short(hex(id))) under '\(ref)' in '\(location)'") {
                result
            }
            defer { git_note_free(note) }
            return git_note_message(note).map { String(cString: $0) } ?? ""
        }
    }

    /// Writes (overwriting) a note in this repository, signed with the configured user or else as coffer.
    func writeNote(on id: UnsafePointer<git_oid>, message: String, ref: String) throws {
        var signature: UnsafeMutablePointer<git_signature>?
        if git_signature_default(&signature, pointer) < 0 {
            try check("git_signature_now", "could not make a signature for the note") {
                git_signature_now(&signature, "coffer", "coffer@localhost")
            }
        }
        defer { git_signature_free(signature) }
        var noteID = git_oid()
        try check(
            "git_note_create",
            "could not write the note on \(short(hex(id))) under '\(ref)' in '\(path)': check that the repository "
                + "is writable"
        ) { git_note_create(&noteID, pointer, ref, signature, signature, id, message, 1) }
    }

    /// A notes ref in full: `coffer` becomes `refs/notes/coffer`; anything else must be under `refs/notes/`.
    static func notesReference(_ name: String) throws -> String {
        let ref = name.hasPrefix("refs/") ? name : "refs/notes/\(name)"
        var valid: Int32 = 0
        guard ref.hasPrefix("refs/notes/"), git_reference_name_is_valid(&valid, ref) == 0, valid == 1 else {
            throw GitError(
                code: .invalidRevision,
                message: "'\(name)' is not a notes ref: give a name such as 'coffer' or 'refs/notes/coffer'")
        }
        return ref
    }
}
