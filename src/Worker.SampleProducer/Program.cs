Console.WriteLine("sample producer");
