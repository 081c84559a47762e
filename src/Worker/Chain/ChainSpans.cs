using System.Diagnostics;
using Worker.Contracts;
using Worker.Providers;
using static Worker.Telemetry.WorkerActivity;

namespace Worker.Chain;

/// <summary>
/// The spans of a chain run: <c>worker.chain {chain}</c> around the run, and one <c>chat {model}</c> per provider call
/// with the GenAI semantic conventions. A call span ends when the chain has decided what follows the call, so it carries
/// that decision; its duration is the call's own. Never the prompt, the answer or a key.
/// </summary>
internal static class ChainSpans
{
    public static Activity? StartRun(CompletionRequested request, ChainStart start)
    {
        var chain = request.Chain ?? "default";
        var span = Source.StartActivity($"worker.chain {chain}");
        if (span is null)
            return null;
        span.SetTag(Tags.RequestId, request.RequestId.ToString());
        span.SetTag(Tags.Chain, chain);
        if (!start.IsBeginning)
        {
            span.SetTag(Tags.Step, start.StepIndex);
            span.SetTag(Tags.Attempt, start.Attempt);
        }

        return span;
    }

    public static void EndRun(Activity? span, ChainOutcome outcome)
    {
        if (span is null)
            return;
        span.SetTag(Tags.Outcome, outcome.Succeeded ? "answered" : outcome.Deferral is not null ? "deferred" : "failed");
        if (outcome.FailureReason is { } reason)
        {
            span.SetTag(Tags.FailureReason, reason);
            span.SetStatus(ActivityStatusCode.Error, reason);
        }
    }

    public static Activity? StartCall(CompletionRequested request, ChainStep step, int attempt, ICompletionProvider provider, ProviderRequest call)
    {
        var span = Source.StartActivity($"{GenAi.Chat} {step.Model}", ActivityKind.Client);
        if (span is null)
            return null;
        span.SetTag(GenAi.OperationName, GenAi.Chat);
        span.SetTag(GenAi.System, provider.GenAiSystem);
        span.SetTag(GenAi.ProviderName, provider.GenAiSystem);
        span.SetTag(GenAi.RequestModel, step.Model);
        if (call.MaxOutputTokens is { } max)
            span.SetTag(GenAi.RequestMaxTokens, max);
        if (call.Temperature is { } temperature)
            span.SetTag(GenAi.RequestTemperature, temperature);
        span.SetTag(Tags.Provider, step.Provider);
        span.SetTag(Tags.RequestId, request.RequestId.ToString());
        span.SetTag(Tags.Step, step.Index);
        span.SetTag(Tags.Attempt, attempt);
        return span;
    }

    /// <summary>Records what the call returned, and ends the span's clock (<paramref name="elapsed"/> after its start).</summary>
    public static void Returned(Activity? span, ProviderResult result, TimeSpan elapsed)
    {
        if (span is null)
            return;
        span.SetEndTime(span.StartTimeUtc + elapsed);
        switch (result)
        {
            case ProviderSuccess success:
                span.SetTag(GenAi.ResponseModel, success.Model);
                Usage(span, success.InputTokens, success.OutputTokens);
                if ((success.Finish ?? success.FinishReason) is { } finish)
                    span.SetTag(GenAi.ResponseFinishReasons, new[] { finish });
                break;
            case ProviderFailure failure:
                var errorClass = failure.Class.ToWireName();
                span.SetTag(GenAi.ErrorType, errorClass);
                if (failure.HttpStatus is { } status)
                    span.SetTag(GenAi.HttpStatus, status);
                Usage(span, failure.InputTokens, failure.OutputTokens);
                // The class, not the detail: a provider's message could quote the request back.
                span.SetStatus(ActivityStatusCode.Error, errorClass);
                break;
        }
    }

    /// <summary>A call cancelled by shutdown (the only exception a provider throws), or a bug.</summary>
    public static void Threw(Activity? span, Exception e, TimeSpan elapsed)
    {
        if (span is null)
            return;
        span.SetEndTime(span.StartTimeUtc + elapsed);
        span.SetTag(GenAi.ErrorType, e.GetType().FullName);
        span.SetStatus(ActivityStatusCode.Error, e is OperationCanceledException ? "cancelled" : e.GetType().Name);
    }

    /// <summary>Ends the call's span with the decision the chain took after it.</summary>
    public static void Decided(Activity? span, Decision decision)
    {
        if (span is null)
            return;
        span.SetTag(Tags.Decision, decision.ToWireName());
        span.Dispose();
    }

    private static void Usage(Activity span, int? input, int? output)
    {
        if (input is { } i)
            span.SetTag(GenAi.InputTokens, i);
        if (output is { } o)
            span.SetTag(GenAi.OutputTokens, o);
    }
}
