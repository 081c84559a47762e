using Worker.Providers;

namespace Worker.Chain;

/// <summary>
/// The retries one run has made on one step, by error class, so that each class has its own limit: 3 server retries and
/// 2 rate-limit retries may both happen on one step. A step without per-class policies (<see cref="ChainStep.Retries"/>
/// null) counts every class together by its attempt number, as before them.
/// </summary>
/// <remarks>
/// A deferred run resumes with only its step and attempt stored, not the per-class counts, so the calls made on the step
/// before the deferral are charged to every class. That may cut a class's retries short after a resume, but a step never
/// retries forever: each deferral moves the attempt on, and a run resumed at an attempt past the largest class limit
/// retries no class.
/// </remarks>
/// <param name="firstAttempt">The attempt this run starts the step at: 1, or where a deferred run resumes.</param>
internal sealed class StepRetries(ChainStep step, int firstAttempt)
{
    private readonly Dictionary<ErrorClass, int> _made = [];

    /// <summary>The number the next retry of <paramref name="errorClass"/> after call <paramref name="attempt"/> would have: 1 for the first.</summary>
    public int Next(ErrorClass errorClass, int attempt) =>
        step.Retries is null ? attempt : firstAttempt + _made.GetValueOrDefault(errorClass);

    /// <summary>A retry of <paramref name="errorClass"/> is being made.</summary>
    public void Made(ErrorClass errorClass) => _made[errorClass] = _made.GetValueOrDefault(errorClass) + 1;
}
