using Microsoft.Extensions.Options;
using Worker.Hosting;

try
{
    await WorkerApp.Build(args).RunAsync();
    return 0;
}
catch (Exception e) when (e is OptionsValidationException or ConfigurationException)
{
    // Bad configuration: say exactly which keys are wrong, without a stack trace, and exit non-zero.
    var problems = e is OptionsValidationException v ? v.Failures : [e.Message];
    Console.Error.WriteLine("The worker cannot start; fix the configuration:");
    foreach (var problem in problems)
    {
        Console.Error.WriteLine($"  - {problem}");
    }

    return 2;
}
