def fib(n: int) -> int:
    

if __name__ == "__main__":
    print([fib(i) for i in range(10)])
