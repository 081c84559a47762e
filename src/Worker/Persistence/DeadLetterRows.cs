namespace Worker.Persistence;

/// <summary>The lifecycle of a dead letter. Stored as the lower-case name.</summary>
public static class DeadLetterStatus
{
    /// <summary>Waiting for ops: never expires.</summary>
    public const string Parked = "parked";

    /// <summary>Sent back to the request queue by a replay operation (parked again if it fails the same way).</summary>
    public const string Replayed = "replayed";

    /// <summary>Resolved without replay; deleted after DeadLetters:ArchiveRetentionDays.</summary>
    public const string Archived = "archived";

    public static readonly IReadOnlyList<string> All = [Parked, Replayed, Archived];
}

/// <summary>Where a dead letter came from.</summary>
public static class DeadLetterSource
{
    /// <summary>The chain gave up with a reason in DeadLetters:ParkReasons.</summary>
    public const string Chain = "chain";

    /// <summary>MassTransit moved the message to the request queue's <c>_error</c> queue.</summary>
    public const string ErrorQueue = "error_queue";

    /// <summary>MassTransit moved the message to the request queue's <c>_skipped</c> queue: no consumer takes its type.</summary>
    public const string SkippedQueue = "skipped_queue";
}

/// <summary>The reasons of dead letters ingested from the <c>_error</c> queue (chain items carry a FailureReasons code).</summary>
public static class ErrorQueueReasons
{
    /// <summary>The body could not be read as a message (MassTransit's SerializationException).</summary>
    public const string Undeserializable = "undeserializable";

    /// <summary>The result could not be delivered: no queue was bound to its exchange (MessageReturnedException).</summary>
    public const string ResultReturned = "result_returned";

    /// <summary>Any other exception thrown while the message was consumed.</summary>
    public const string ConsumerFault = "consumer_fault";

    /// <summary>A MassTransit envelope of a message type nothing on the request queue consumes (the <c>_skipped</c> queue).</summary>
    public const string UnrecognizedMessageType = "unrecognized_message_type";

    /// <summary>The ingester could not read or store the message as it is: kept raw (bounded) with why, never requeued.</summary>
    public const string Unreadable = "unreadable";
}

/// <summary>
/// One parked message (table <c>dead_letters</c>). A request parked by its chain has <see cref="Id"/> = its request id,
/// so parking it again reopens the same row; an <c>_error</c> queue message gets an id derived from its message id.
/// </summary>
public sealed class DeadLetterRow
{
    public Guid Id { get; set; }

    /// <summary>The request it is about, when known (always for chain items; when the body could be read for the others).</summary>
    public Guid? RequestId { get; set; }

    public string Source { get; set; } = DeadLetterSource.Chain;

    public string Status { get; set; } = DeadLetterStatus.Parked;

    /// <summary>A FailureReasons code or an ErrorQueueReasons code.</summary>
    public string Reason { get; set; } = "";

    /// <summary>The error class of the last failed call (chain items).</summary>
    public string? ErrorClass { get; set; }

    /// <summary>The last provider called (chain items).</summary>
    public string? Provider { get; set; }

    public string? Chain { get; set; }

    /// <summary>MT-Fault-ExceptionType (error queue items).</summary>
    public string? ExceptionType { get; set; }

    /// <summary>Short hash of (reason, error class, provider, chain, exception type): the group this item is counted in.</summary>
    public string GroupKey { get; set; } = "";

    /// <summary>The chain's error, or MT-Fault-Message.</summary>
    public string? Error { get; set; }

    /// <summary>MT-Fault-StackTrace, trimmed.</summary>
    public string? StackTrace { get; set; }

    /// <summary>The CompletionRequested as JSON, when known: what a replay sends. Holds the prompt (PII).</summary>
    public string? Message { get; set; }

    /// <summary>The original body as text (error queue items).</summary>
    public string? Body { get; set; }

    public string? ContentType { get; set; }

    /// <summary>The AMQP headers as a JSON object of strings (error queue items).</summary>
    public string? Headers { get; set; }

    /// <summary>MT-Fault-Timestamp.</summary>
    public DateTimeOffset? FaultedAt { get; set; }

    public DateTimeOffset FirstParkedAt { get; set; }

    public DateTimeOffset LastParkedAt { get; set; }

    /// <summary>Times this item was parked (a replay that fails the same way parks it again).</summary>
    public int ParkCount { get; set; }

    public DateTimeOffset? ResolvedAt { get; set; }

    /// <summary>Who replayed or archived it (X-Ops-User, or "auto-replay").</summary>
    public string? ResolvedBy { get; set; }

    /// <summary>The operation that last replayed or archived it.</summary>
    public Guid? OperationId { get; set; }
}

/// <summary>The kinds of operation.</summary>
public static class OperationKinds
{
    public const string Replay = "replay";
    public const string Archive = "archive";
}

/// <summary>The lifecycle of an operation.</summary>
public static class OperationStatus
{
    public const string Pending = "pending";
    public const string Running = "running";
    public const string Completed = "completed";
}

/// <summary>One replay or archive asked for by ops (table <c>dead_letter_operations</c>): who, when, what, and how far it got.</summary>
public sealed class DeadLetterOperationRow
{
    public Guid Id { get; set; }

    public string Kind { get; set; } = OperationKinds.Replay;

    public string Status { get; set; } = OperationStatus.Pending;

    public string RequestedBy { get; set; } = "";

    public DateTimeOffset RequestedAt { get; set; }

    /// <summary>The selection as asked for (ids or filter), as JSON.</summary>
    public string Selection { get; set; } = "{}";

    /// <summary>The chain a replay sends the requests to instead of their own.</summary>
    public string? RedirectChain { get; set; }

    /// <summary>Items selected when the operation was created.</summary>
    public int Total { get; set; }

    /// <summary>Items sent (replay) or archived.</summary>
    public int Done { get; set; }

    /// <summary>Items passed over: no longer parked when their turn came, or nothing to replay.</summary>
    public int Skipped { get; set; }

    public DateTimeOffset? StartedAt { get; set; }

    public DateTimeOffset? FinishedAt { get; set; }

    public List<DeadLetterOperationItemRow> Items { get; set; } = [];
}

/// <summary>The item states of an operation.</summary>
public static class ItemState
{
    public const string Pending = "pending";
    public const string Done = "done";
    public const string Skipped = "skipped";
}

/// <summary>One dead letter in one operation (table <c>dead_letter_operation_items</c>), processed in <see cref="Position"/> order.</summary>
public sealed class DeadLetterOperationItemRow
{
    public Guid OperationId { get; set; }

    public Guid DeadLetterId { get; set; }

    public int Position { get; set; }

    public string State { get; set; } = ItemState.Pending;

    public DateTimeOffset? DoneAt { get; set; }

    /// <summary>Why it was skipped.</summary>
    public string? Note { get; set; }
}
