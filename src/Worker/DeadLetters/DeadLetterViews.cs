using System.Text.Json;
using Worker.Ops;

namespace Worker.DeadLetters;

/// <summary>A dead letter as the list shows it; bodies, headers and the timeline are in the detail.</summary>
public sealed record DeadLetterView(
    Guid Id,
    Guid? RequestId,
    string Source,
    string Status,
    string Reason,
    string? ErrorClass,
    string? Provider,
    string? Chain,
    string? ExceptionType,
    string Group,
    string? Error,
    DateTimeOffset FirstParkedAt,
    DateTimeOffset LastParkedAt,
    int ParkCount,
    int ReplayCount,
    DateTimeOffset? ResolvedAt,
    string? ResolvedBy,
    Guid? OperationId);

/// <summary><c>GET /dead-letters</c>: the filter as applied and the matching items, most recently parked first.</summary>
public sealed record DeadLetterList(DeadLetterFilter Filter, string? Status, int Limit, IReadOnlyList<DeadLetterView> Items);

/// <summary>One cause with its parked items: <c>GET /dead-letters/groups</c>.</summary>
public sealed record DeadLetterGroup(
    string Group,
    string Reason,
    string? ErrorClass,
    string? Provider,
    string? Chain,
    string? ExceptionType,
    int Count,
    DateTimeOffset FirstSeen,
    DateTimeOffset LastSeen);

/// <summary>
/// <c>GET /dead-letters/{id}</c>: the item, the message a replay would send, what the broker said (error queue items),
/// the request's attempt timeline from the audit trail, and every operation that touched it.
/// </summary>
public sealed record DeadLetterDetail(
    DeadLetterView Item,
    JsonElement? Message,
    string? Body,
    string? ContentType,
    JsonElement? Headers,
    string? StackTrace,
    DateTimeOffset? FaultedAt,
    RequestDetail? Request,
    IReadOnlyList<OperationRef> Operations);

/// <summary>An operation as seen from one of its items.</summary>
public sealed record OperationRef(Guid Id, string Kind, string RequestedBy, DateTimeOffset RequestedAt, string State, DateTimeOffset? DoneAt, string? Note);

/// <summary>The answer to a replay or archive: the operation (null for a dry run) and how many items it selected.</summary>
public sealed record OperationAccepted(Guid? OperationId, int Selected, bool DryRun);

/// <summary><c>GET /dead-letters/operations/{id}</c>: who asked for what, and how far it got.</summary>
/// <param name="Done">Items sent (replay) or archived.</param>
/// <param name="Skipped">Items that were no longer parked when their turn came.</param>
/// <param name="Outcomes">Replay only: what became of the requests sent so far.</param>
public sealed record OperationView(
    Guid Id,
    string Kind,
    string Status,
    string RequestedBy,
    DateTimeOffset RequestedAt,
    JsonElement Selection,
    string? Chain,
    int Total,
    int Done,
    int Skipped,
    int Remaining,
    ReplayOutcomes? Outcomes,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt);

/// <summary>Replayed requests by their state now: answered, failed for good, parked again, or not finished yet.</summary>
public sealed record ReplayOutcomes(int Succeeded, int Failed, int Parked, int Pending);
