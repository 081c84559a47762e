using System.Diagnostics;

namespace Worker.Telemetry;

/// <summary>
/// The worker's own <see cref="ActivitySource"/> and meter name (both <c>Worker</c>), and the names of what other features
/// trace: MassTransit's source and meter. A source without a listener costs a null check, so features start spans whether
/// export is on or not.
/// </summary>
public static class WorkerActivity
{
    /// <summary>The name of the worker's ActivitySource and of its meter.</summary>
    public const string Name = "Worker";

    /// <summary>MassTransit's ActivitySource and meter (its <c>DiagnosticHeaders.DefaultListenerName</c>).</summary>
    public const string MassTransit = "MassTransit";

    public static readonly ActivitySource Source = new(Name);

    /// <summary>
    /// The W3C <c>traceparent</c> of the current span, kept with a request so a deferral or replay that sends it again
    /// continues (or links to) the trace it began in; null when nothing is being traced.
    /// </summary>
    public static string? CurrentTraceParent() =>
        Activity.Current is { IdFormat: ActivityIdFormat.W3C } current ? current.Id : null;

    /// <summary>
    /// Starts a Producer span for sending a stored request again, under <paramref name="traceParent"/> (a deferral
    /// continues its trace) or, when <paramref name="link"/>, as a new trace linked to it (a replay is an ops act of its
    /// own). Null when nobody listens; the send inside it carries the trace to the consumer.
    /// </summary>
    public static Activity? StartResend(string name, string? traceParent, bool link, Guid requestId)
    {
        var stored = ActivityContext.TryParse(traceParent, null, out var context);
        var tags = new ActivityTagsCollection { [Tags.RequestId] = requestId.ToString() };
        return link || !stored
            ? Source.StartActivity(name, ActivityKind.Producer, default(ActivityContext), tags, stored ? [new ActivityLink(context)] : null)
            : Source.StartActivity(name, ActivityKind.Producer, context, tags);
    }

    /// <summary>The worker's own span attributes, beside the GenAI ones (<see cref="GenAi"/>).</summary>
    public static class Tags
    {
        public const string RequestId = "worker.request_id";
        public const string Chain = "worker.chain";
        public const string Step = "worker.step";
        public const string Attempt = "worker.attempt";

        /// <summary>What the chain did after the call, in the audit rows' words: answered, retried, fell_back, gave_up, deferred.</summary>
        public const string Decision = "worker.decision";

        /// <summary>How a chain run ended: answered, failed or deferred.</summary>
        public const string Outcome = "worker.outcome";

        /// <summary>The configured provider name (gemini, openai, groq...), which gen_ai.provider.name does not always say.</summary>
        public const string Provider = "worker.provider";

        public const string FailureReason = "worker.failure_reason";
    }

    /// <summary>
    /// The OpenTelemetry GenAI semantic conventions the call spans carry. Never the prompt or the answer: the conventions'
    /// gen_ai.input.messages and gen_ai.output.messages are opt-in there and left out here.
    /// </summary>
    public static class GenAi
    {
        public const string OperationName = "gen_ai.operation.name";

        /// <summary>The older name of <see cref="ProviderName"/>; both are set while backends move over.</summary>
        public const string System = "gen_ai.system";

        public const string ProviderName = "gen_ai.provider.name";
        public const string RequestModel = "gen_ai.request.model";
        public const string RequestMaxTokens = "gen_ai.request.max_tokens";
        public const string RequestTemperature = "gen_ai.request.temperature";
        public const string ResponseModel = "gen_ai.response.model";
        public const string ResponseFinishReasons = "gen_ai.response.finish_reasons";
        public const string InputTokens = "gen_ai.usage.input_tokens";
        public const string OutputTokens = "gen_ai.usage.output_tokens";
        public const string ErrorType = "error.type";
        public const string HttpStatus = "http.response.status_code";

        public const string Chat = "chat";
    }
}
